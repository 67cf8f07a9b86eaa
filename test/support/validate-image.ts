// Structural checks of an image or index, as go-containerregistry's validate.Image and
// validate.Index make them: every descriptor's digest and size match the bytes, the config's
// diff_ids are the layers' uncompressed digests, the history has one non-empty entry per layer,
// and an index's entries point at the images it holds. Independent of shale's own code (hashes,
// JSON and gunzip come from Node), so a bug in shale's readers or writers cannot hide itself.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Artifact, Image, Index } from '../../src/oci/image.js';

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** The digest and size of a stream's bytes, and the digest of their gunzip'd form when they are gzip. */
async function measure(stream: Readable): Promise<{ digest: string; size: number; diffId: string }> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  const bytes = Buffer.concat(chunks);
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return { digest: sha256(bytes), size: bytes.length, diffId: sha256(bytes) };
  const plain: Buffer[] = [];
  const gunzip = createGunzip();
  gunzip.end(bytes);
  for await (const c of gunzip) plain.push(c as Buffer);
  return { digest: sha256(bytes), size: bytes.length, diffId: sha256(Buffer.concat(plain)) };
}

/** Everything wrong with one image, each problem one line naming where it is; empty when it is sound. */
export async function imageProblems(img: Image, where = `image ${img.digest}`): Promise<string[]> {
  const problems: string[] = [];
  const say = (p: string): number => problems.push(`${where}: ${p}`);
  if (sha256(img.manifestBytes) !== img.digest) say(`the manifest bytes hash to ${sha256(img.manifestBytes)}, not its digest`);
  const manifest = JSON.parse(img.manifestBytes.toString('utf8')) as { config?: { digest?: string; size?: number }; layers?: unknown[] };
  if (manifest.config?.digest !== img.manifest.config.digest || manifest.config.size !== img.manifest.config.size)
    say('the manifest bytes name another config than the manifest object');
  if (sha256(img.configBytes) !== img.manifest.config.digest) say(`the config bytes hash to ${sha256(img.configBytes)}, not ${img.manifest.config.digest}`);
  if (img.configBytes.length !== img.manifest.config.size)
    say(`the config has ${img.configBytes.length} bytes, its descriptor says ${img.manifest.config.size}`);
  const config = JSON.parse(img.configBytes.toString('utf8')) as {
    os?: unknown;
    architecture?: unknown;
    rootfs?: { diff_ids?: string[] };
    history?: { empty_layer?: boolean }[];
  };
  if (typeof config.os !== 'string' || typeof config.architecture !== 'string') say('the config names no os and architecture');
  const diffIds = config.rootfs?.diff_ids ?? [];
  const layers = img.manifest.layers;
  if ((manifest.layers ?? []).length !== layers.length) say('the manifest bytes list another number of layers than the manifest object');
  if (img.layers.length !== layers.length) say(`${img.layers.length} Layer objects for ${layers.length} manifest layers`);
  if (diffIds.length !== layers.length) say(`the config has ${diffIds.length} diff_ids for ${layers.length} layers`);
  if (config.history) {
    const made = config.history.filter((h) => h.empty_layer !== true).length;
    if (made !== layers.length) say(`the history has ${made} non-empty entries for ${layers.length} layers`);
  }
  for (const [i, layer] of img.layers.entries()) {
    const d = layers[i];
    if (d && (d.digest !== layer.descriptor.digest || d.size !== layer.descriptor.size || d.mediaType !== layer.descriptor.mediaType))
      say(`layer ${i}'s descriptor is not the manifest's`);
    if (layer.diffId !== diffIds[i]) say(`layer ${i}'s diff_id ${layer.diffId} is not the config's ${diffIds[i] ?? '(none)'}`);
    let got: Awaited<ReturnType<typeof measure>>;
    try {
      got = await measure(await layer.open());
    } catch (err) {
      say(`layer ${i} (${layer.descriptor.digest}) cannot be read: ${err instanceof Error ? err.message : String(err)}`);
      continue;
    }
    if (got.digest !== layer.descriptor.digest) say(`layer ${i}'s blob hashes to ${got.digest}, not ${layer.descriptor.digest}`);
    if (got.size !== layer.descriptor.size) say(`layer ${i}'s blob has ${got.size} bytes, its descriptor says ${layer.descriptor.size}`);
    if (got.diffId !== diffIds[i]) say(`layer ${i} uncompressed hashes to ${got.diffId}, not the config's diff_id ${diffIds[i] ?? '(none)'}`);
  }
  return problems;
}

/** Everything wrong with an index and its images. */
export async function indexProblems(index: Index, where = `index ${index.digest}`): Promise<string[]> {
  const problems: string[] = [];
  const say = (p: string): number => problems.push(`${where}: ${p}`);
  if (sha256(index.indexBytes) !== index.digest) say(`the index bytes hash to ${sha256(index.indexBytes)}, not its digest`);
  const entries =
    (
      JSON.parse(index.indexBytes.toString('utf8')) as {
        manifests?: { digest: string; size: number; mediaType: string; platform?: { os: string; architecture: string; variant?: string } }[];
      }
    ).manifests ?? [];
  for (const entry of entries.filter((e) => e.platform?.os !== 'unknown')) {
    const img = index.images.find((i) => i.digest === entry.digest);
    if (!img) {
      say(`entry ${entry.digest} points at no image of the index`);
      continue;
    }
    if (entry.size !== img.manifestBytes.length) say(`entry ${entry.digest} says ${entry.size} bytes, the manifest has ${img.manifestBytes.length}`);
    if (entry.mediaType !== img.manifest.mediaType) say(`entry ${entry.digest} says ${entry.mediaType}, the manifest is ${img.manifest.mediaType}`);
    const p = entry.platform;
    if (p && (p.os !== img.config.os || p.architecture !== img.config.architecture || (p.variant ?? '') !== (img.config.variant ?? '')))
      say(`entry ${entry.digest} is for another platform than its image's config`);
  }
  for (const img of index.images) {
    if (!entries.some((e) => e.digest === img.digest)) say(`image ${img.digest} is not listed in the index`);
    problems.push(...(await imageProblems(img, `${where}, image ${img.digest}`)));
  }
  return problems;
}

/** Everything wrong with an artifact (an image, or an index and its images). */
export function artifactProblems(artifact: Artifact): Promise<string[]> {
  return artifact.kind === 'image' ? imageProblems(artifact.image) : indexProblems(artifact.index);
}

/** Fails the test, listing every problem, unless the artifact is structurally sound. */
export async function assertValidArtifact(artifact: Artifact, what = 'the artifact'): Promise<void> {
  const problems = await artifactProblems(artifact);
  assert.deepEqual(problems, [], `${what} is not a valid image:\n${problems.join('\n')}`);
}
