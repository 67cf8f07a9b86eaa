/**
 * What a build must know of its base image besides its config: the C library (for wheel
 * choice) and the Python (for wheel choice and where packages go). Each comes from the
 * cheapest place that has it: the config (`libc`) or the base's Env (PYTHON_VERSION); then what
 * an earlier build recorded for the same base manifest digest, in the local cache or as the
 * `dev.shale.base.*` annotations of an earlier image in the registry; and only then the base's
 * layers, streamed top down in one pass for everything still missing. What was read is recorded
 * for the next build, and put on the image (`factAnnotations`), so a fresh CI runner whose
 * registry holds the previous push never downloads a base layer.
 */
import type { Events } from '../events.js';
import type { Layer } from '../oci/image.js';
import { Annotation } from '../oci/annotations.js';
import type { ImageConfig } from '../oci/types.js';
import { formatLibc, libcUnknown, LibcProbe, parseLibc, type Libc } from './libc.js';
import { pathDirs } from './path.js';
import { formatPython, parsePython, pythonFromEnv, pythonMismatch, pythonUnusable, PythonProbe, type BasePython, type PythonFinding } from './python.js';
import type { BaseRecords, FactRecord } from './records.js';
import { scanLayers, type Probe } from './scan.js';

/** What is known of a base. */
export interface BaseFacts {
  libc?: Libc;
  python?: BasePython;
}

/** A base image as facts are learned from it (pipeline's BaseImage is one). */
export interface BaseSource {
  /** The normalized reference, for messages. */
  name: string;
  /** The platform's manifest digest, which records are kept by. */
  digest: string;
  config: ImageConfig;
  /** Bottom first, as the manifest lists them; opened only when a fact must be read from them. */
  layers: readonly Pick<Layer, 'descriptor' | 'open'>[];
}

/** Which facts the build needs: those not needed are read from nowhere but free sources. */
export interface FactsWanted {
  /** Wheels will be chosen (there are dependencies). */
  libc: boolean;
  /** Packages or local libraries will be installed. */
  python: boolean;
}

/** What [tool.shale] says: `libc` wins over the base; `python` is checked against it. */
export interface ConfiguredFacts {
  libc?: Libc | undefined;
  python?: string | undefined;
}

/** Where recorded facts come from besides the base itself. */
export interface FactSources {
  records: BaseRecords;
  /** Skip the local record and the registry's (--no-cache): the layers are read again. */
  noCache: boolean;
  /** The `dev.shale.base.*` annotations an earlier image in the registry recorded for this base digest. */
  registry?: FactRecord | undefined;
  events: Events;
}

/** The facts as annotations of the image built on the base (and as the local record holds them). */
export function factAnnotations(facts: BaseFacts): Record<string, string> {
  const out: Record<string, string> = {};
  if (facts.libc) out[Annotation.BaseLibc] = formatLibc(facts.libc);
  if (facts.python) out[Annotation.BasePython] = formatPython(facts.python);
  return out;
}

/** Facts from a record or annotations; texts that do not parse are ignored. */
export function factsOf(record: FactRecord | undefined): BaseFacts {
  const out: BaseFacts = {};
  const libc = record?.[Annotation.BaseLibc];
  const python = record?.[Annotation.BasePython];
  const l = libc === undefined ? undefined : parseLibc(libc);
  const p = python === undefined ? undefined : parsePython(python);
  if (l) out.libc = l;
  if (p) out.python = p;
  return out;
}

/** The base's C library and Python as read from its layers, in one pass. */
interface Scanned {
  libc?: Libc;
  python?: PythonFinding;
}

async function scanBase(base: BaseSource, want: { libc: boolean; python: boolean }, events: Events): Promise<Scanned> {
  const what = [want.libc ? 'C library' : '', want.python ? 'Python' : ''].filter(Boolean).join(' and ');
  events({ type: 'step', step: `reading the base image's ${what}`, detail: base.name });
  const started = performance.now();
  const libc = want.libc ? new LibcProbe() : undefined;
  const python = want.python ? new PythonProbe(pathDirs(base.config.config?.Env ?? [])) : undefined;
  const probes: Probe[] = [libc, python].filter((p): p is LibcProbe | PythonProbe => p !== undefined);
  const report = await scanLayers(
    base.layers.map((l) => ({ mediaType: l.descriptor.mediaType, open: () => l.open() })),
    probes,
  );
  const out: Scanned = {};
  const foundLibc = libc?.result();
  if (foundLibc) out.libc = foundLibc;
  if (python) {
    const f = python.result();
    out.python = report.skipped && 'problem' in f ? { ...f, problem: `${f.problem} (${report.skipped} zstd layer(s) could not be read)` } : f;
  }
  const said = [
    foundLibc ? formatLibc(foundLibc) : '',
    out.python && 'python' in out.python ? `Python ${out.python.python.version} (${out.python.python.evidence ?? ''})` : '',
  ]
    .filter(Boolean)
    .join(', ');
  events({
    type: 'log',
    level: 'debug',
    message: `base image ${base.name}: ${said || 'nothing found'}; read ${report.read} of ${base.layers.length} layer(s) in ${Math.round(performance.now() - started)} ms`,
  });
  return out;
}

/**
 * The facts of `base` a build needs (see the file comment). The `libc` key wins; the `python`
 * key must name the base's Python (else an InputError naming both versions), and is checked
 * whenever it is set, even when nothing is installed. A needed fact the layers do not show is
 * an InputError saying what to do. Facts known for free (PYTHON_VERSION, a record) are
 * returned even when not needed, so the image records them.
 */
export async function learnBase(base: BaseSource, configured: ConfiguredFacts, want: FactsWanted, src: FactSources): Promise<BaseFacts> {
  const what = `base image ${base.name}`;
  const facts: BaseFacts = {};
  if (configured.libc) facts.libc = configured.libc;
  const fromEnv = pythonFromEnv(base.config.config?.Env ?? []);
  if (fromEnv) facts.python = fromEnv;
  if ((!facts.libc || !facts.python) && !src.noCache) {
    const local = factsOf(await src.records.get(base.digest));
    const remote = factsOf(src.registry);
    const libc = facts.libc ?? local.libc ?? remote.libc;
    const python = facts.python ?? local.python ?? remote.python;
    if (libc) facts.libc = libc;
    if (python) facts.python = python;
    // What the registry told is kept locally too: the next build need not ask.
    const learned: BaseFacts = {};
    if (!local.libc && remote.libc) learned.libc = remote.libc;
    if (!local.python && remote.python) learned.python = remote.python;
    await src.records.add(base.digest, factAnnotations(learned));
  }
  const readLibc = want.libc && !facts.libc;
  const readPython = (want.python || configured.python !== undefined) && !facts.python;
  let finding: PythonFinding | undefined;
  if (readLibc || readPython) {
    const key = `${base.digest}|${readLibc ? 'libc' : ''}|${readPython ? 'python' : ''}`;
    const scanned = await src.records.once(key, () => scanBase(base, { libc: readLibc, python: readPython }, src.events));
    if (readLibc && !scanned.libc) throw libcUnknown(what);
    finding = scanned.python;
    const read: BaseFacts = {};
    if (readLibc && scanned.libc) read.libc = facts.libc = scanned.libc;
    if (finding && 'python' in finding) read.python = facts.python = finding.python;
    await src.records.add(base.digest, factAnnotations(read));
  }
  if (finding && 'problem' in finding) throw pythonUnusable(finding, what, configured.python);
  if (configured.python !== undefined && facts.python && facts.python.version !== configured.python)
    throw pythonMismatch(configured.python, facts.python, what);
  return facts;
}
