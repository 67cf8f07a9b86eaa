import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError, ShaleError, wrap } from '../errors.js';
import { noEvents, type Events } from '../events.js';
import { Annotation } from '../oci/annotations.js';
import { canonicalBytes } from '../oci/canonical-json.js';
import { artifactDescriptor, type Artifact } from '../oci/image.js';
import { parseIndex } from '../oci/parse.js';
import { MediaType, type Descriptor, type Digest, type ImageIndex } from '../oci/types.js';
import { mapLimit } from '../limit.js';
import { writeFileAtomic } from '../store/atomic-file.js';
import { FsBlobStore, isNotFound } from '../store/blob-store.js';
import { makeDir } from '../store/disk-errors.js';
import { artifactBlobs, type ArtifactBlob } from './artifact-blobs.js';
import { readAll, type BlobSource } from './blob-source.js';
import { openDescriptor } from './load.js';
import { loadArtifact, type OpenedArtifact } from './opened.js';
import { selectEntry } from './select-entry.js';

/** Options for {@link writeLayout}. */
export interface LayoutOptions {
  /** Recorded as `org.opencontainers.image.ref.name`; an existing entry with this name is replaced. */
  tag?: string;
  events?: Events;
}

const LAYOUT_VERSION = '1.0.0';
const LAYER_CONCURRENCY = 4;

/**
 * Writes an artifact into an OCI image layout (image-spec "image-layout") and returns the
 * digest of what index.json now points at. Blobs already there are kept; new ones are written
 * to a temporary file, checked against their digest and renamed into place. index.json is
 * written last and atomically, so an interrupted write leaves the layout as it was. Other
 * images already in the layout stay listed.
 */
export async function writeLayout(dir: string, artifact: Artifact, opts: LayoutOptions = {}): Promise<Digest> {
  const events = opts.events ?? noEvents;
  await makeDir(join(dir, 'blobs', 'sha256'), dir);
  await ensureLayoutFile(dir);
  const existing = await readIndexFile(dir);

  const store = new FsBlobStore(dir);
  const blobs = artifactBlobs(artifact);
  const writeOne = (b: ArtifactBlob): Promise<void> => writeBlob(store, b, dir, events);
  // Layers are independent and large: write them concurrently. Configs, manifests and the
  // index follow, so nothing is stored before what it points at.
  await mapLimit(
    blobs.filter((b) => b.kind === 'layer'),
    LAYER_CONCURRENCY,
    writeOne,
  );
  for (const b of blobs.filter((x) => x.kind !== 'layer')) await writeOne(b);

  const top: Descriptor = { ...artifactDescriptor(artifact), ...(opts.tag === undefined ? {} : { annotations: { [Annotation.RefName]: opts.tag } }) };
  const keep = (existing?.manifests ?? []).filter((d) => !sameEntry(d, top, opts.tag));
  const index: ImageIndex = { ...existing, schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [...keep, top] };
  await writeFileAtomic(join(dir, 'index.json'), canonicalBytes(index));
  return top.digest;
}

/**
 * Opens the image or index an OCI image layout holds: the entry named `ref` (its
 * `org.opencontainers.image.ref.name`, or a digest), or the only one there. Layers are read
 * from the blob files when opened.
 */
export async function openLayout(dir: string, ref?: string): Promise<OpenedArtifact> {
  const index = await readIndexFile(dir);
  if (!index) throw new InputError('SHALE_NOT_A_LAYOUT', `${dir} is not an OCI image layout (no index.json).`);
  const where = `OCI layout ${dir}`;
  return openDescriptor(layoutSource(dir, where), selectEntry(index.manifests, ref, where));
}

/** Reads an image or index back from an OCI image layout, every image of an index included; see {@link openLayout}. */
export async function readLayout(dir: string, ref?: string): Promise<Artifact> {
  return loadArtifact(await openLayout(dir, ref));
}

/** The blobs of a layout directory (a layout's blobs/ is an FsBlobStore), checked as they are read. */
function layoutSource(dir: string, where: string): BlobSource {
  const store = new FsBlobStore(dir);
  const bytes = async (d: Descriptor): Promise<Buffer> => readAll(await store.open(d.digest));
  return { where, manifest: bytes, bytes, open: (d) => store.open(d.digest) };
}

async function writeBlob(store: FsBlobStore, b: ArtifactBlob, dir: string, events: Events): Promise<void> {
  if (await store.has(b.digest)) {
    events({ type: 'upload', digest: b.digest, name: b.name, status: 'exists', total: b.size });
    return;
  }
  events({ type: 'upload', digest: b.digest, name: b.name, status: 'start', total: b.size });
  try {
    const written = await store.put(await b.open(), b.digest);
    if (written.size !== b.size) {
      throw new ShaleError('SHALE_SIZE_MISMATCH', `the blob has ${written.size} bytes but its descriptor says ${b.size}`);
    }
  } catch (err) {
    throw wrap(`writing ${b.kind === 'layer' ? `layer ${b.name}` : b.kind} ${b.digest} to OCI layout ${dir}`, err);
  }
  events({ type: 'upload', digest: b.digest, name: b.name, status: 'done', bytes: b.size, total: b.size });
}

/** Whether an existing entry is the one a new write replaces: same tag, or same untagged digest. */
function sameEntry(old: Descriptor, top: Descriptor, tag: string | undefined): boolean {
  const oldTag = old.annotations?.[Annotation.RefName];
  return tag !== undefined ? oldTag === tag : oldTag === undefined && old.digest === top.digest;
}

async function ensureLayoutFile(dir: string): Promise<void> {
  const file = join(dir, 'oci-layout');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await writeFileAtomic(file, canonicalBytes({ imageLayoutVersion: LAYOUT_VERSION }));
    return;
  }
  let version: unknown;
  try {
    version = (JSON.parse(text) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
  } catch {
    version = undefined;
  }
  if (version !== LAYOUT_VERSION) {
    throw new InputError(
      'SHALE_BAD_LAYOUT',
      `${file} does not say imageLayoutVersion "${LAYOUT_VERSION}"; shale will not write into a layout it does not understand. Choose another --oci directory or remove this one.`,
    );
  }
}

async function readIndexFile(dir: string): Promise<ImageIndex | undefined> {
  const file = join(dir, 'index.json');
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    if (isNotFound(err) || isNotDir(err)) return undefined;
    throw err;
  }
  try {
    return parseIndex(bytes, file);
  } catch (err) {
    throw new InputError(
      'SHALE_BAD_LAYOUT',
      `${file} is not a valid OCI index (${err instanceof Error ? err.message : String(err)}). Remove the directory or choose another.`,
      { cause: err },
    );
  }
}

function isNotDir(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ENOTDIR';
}
