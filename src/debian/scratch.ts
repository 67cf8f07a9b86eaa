/**
 * A base made of Debian packages alone (`base = "scratch"`, `distribution = "debian:bookworm"`):
 * an empty system (no dpkg status: dpkg's records go to status.d/ as on distroless), sources
 * from `apt-sources` or Debian's archive checked with the build machine's Debian keyring, and
 * the facts a base's layers would show (its Python, its C library) read from the resolved
 * packages' versions instead.
 */
import { existsSync } from 'node:fs';
import type { BaseFacts, FactsWanted } from '../base/facts.js';
import { libcUnknown, type Libc } from '../base/libc.js';
import { pythonMismatch, type BasePython } from '../base/python.js';
import { InputError } from '../errors.js';
import type { BaseSystem } from './base-system.js';

/** Debian's archive keyring where Debian and Ubuntu machines keep it (package debian-archive-keyring). */
export const HOST_DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

/** The image config of a base made of packages: the usual PATH, no user (root), nothing else. */
export const SCRATCH_ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];

/** "debian:bookworm" → its parts. */
export function parseDistribution(distribution: string): { id: string; codename: string } {
  const [id = '', codename = ''] = distribution.split(':');
  return { id, codename };
}

/** The system of an empty image of `distribution`: nothing installed, no sources, no keys, no merged-/usr links. */
export function scratchSystem(distribution: string): BaseSystem {
  const { id, codename } = parseDistribution(distribution);
  return { osRelease: { ID: id, VERSION_CODENAME: codename }, statusD: {}, sourceLists: {}, keyrings: {}, rootLinks: {} };
}

/**
 * The sources of a scratch base: `apt-sources` when set, else Debian's archive for the release,
 * trusted through the build machine's Debian keyring; without one, an InputError saying what to set.
 */
export function scratchSources(distribution: string, configFile: string, aptSources: string[] | undefined, hasKeyring = existsSync): string[] {
  if (aptSources !== undefined) return aptSources;
  const { codename } = parseDistribution(distribution);
  if (!hasKeyring(HOST_DEBIAN_KEYRING))
    throw new InputError(
      'SHALE_APT_KEYS',
      `${configFile}: base = "scratch" builds from Debian's archive, whose signature is checked with ${HOST_DEBIAN_KEYRING}, which this machine ` +
        `does not have; install the debian-archive-keyring package, or set apt-sources = ["deb [signed-by=FILE] URI ${codename} main"] ` +
        'with a keyring file of the archive',
    );
  return [`deb [signed-by=${HOST_DEBIAN_KEYRING}] http://deb.debian.org/debian ${codename} main`];
}

/** The Python of a base made of packages: python3's version ("3.11.2-1+b1" → 3.11, Debian's layout). */
export function scratchPython(pins: readonly { name: string; version: string }[]): BasePython | undefined {
  const p = pins.find((d) => d.name === 'python3');
  const m = p && /^(?:\d+:)?(3\.\d+)(?:\.|$)/.exec(p.version);
  return m ? { version: m[1]!, kind: 'debian', evidence: `python3 ${p.version} (system-packages)` } : undefined;
}

/** The C library of a base made of packages: libc6's version ("2.36-9+deb12u10" → glibc 2.36). */
export function scratchLibc(pins: readonly { name: string; version: string }[]): Libc | undefined {
  const p = pins.find((d) => d.name === 'libc6');
  const m = p && /^(?:\d+:)?(\d+)\.(\d+)/.exec(p.version);
  return m ? { kind: 'glibc', version: [Number(m[1]), Number(m[2])] } : undefined;
}

/** What the config says that bears on a scratch base's facts. */
export interface ScratchConfig {
  configFile: string;
  distribution?: string | undefined;
  libc?: Libc | undefined;
  python?: string | undefined;
}

/**
 * The facts of a base made of packages, from its pins: `libc` from the config wins, else libc6's;
 * the Python is python3's, and `python` must name it. A needed fact the pins do not give is an
 * InputError saying what to add.
 */
export function scratchFacts(pins: readonly { name: string; version: string }[], config: ScratchConfig, want: FactsWanted): BaseFacts {
  const facts: BaseFacts = {};
  const libc = config.libc ?? scratchLibc(pins);
  const python = scratchPython(pins);
  if (libc) facts.libc = libc;
  if (python) facts.python = python;
  const what = `base "scratch" (${config.distribution ?? ''} system-packages)`;
  if (want.libc && !libc) throw libcUnknown(what);
  if ((want.python || config.python !== undefined) && !python)
    throw new InputError(
      'SHALE_PYTHON_MISSING',
      `${config.configFile}: ${what} has no python3 to install the app's packages for; add "python3" to system-packages`,
    );
  if (config.python !== undefined && python && python.version !== config.python) throw pythonMismatch(config.python, python, what);
  return facts;
}
