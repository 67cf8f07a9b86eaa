/**
 * Wheel compatibility tags for a target image, in the order `packaging.tags.sys_tags()` yields
 * them on that system (most specific first), and choosing a wheel by them.
 */
import type { Platform } from '../oci/types.js';
import { InputError } from '../errors.js';
import { platformString } from '../oci/types.js';
import { parseWheelFilename } from './names.js';

/** What a wheel must fit: the image's Python (major.minor), platform and C library. */
export interface TargetEnv {
  /** "3.11" */
  python: string;
  platform: Platform;
  libc: { kind: 'glibc' | 'musl'; version: [number, number] };
}

/** A short human description of a target ("linux/arm64, Python 3.11, glibc 2.36"), for messages. */
export function describeEnv(env: TargetEnv): string {
  return `${platformString(env.platform)}, Python ${env.python}, ${env.libc.kind} ${env.libc.version.join('.')}`;
}

/** The `uname -m` machine name Python reports for an OCI platform (amd64 → x86_64). */
export function pythonArch(p: Platform): string {
  switch (p.architecture) {
    case 'amd64':
      return 'x86_64';
    case 'arm64':
      return 'aarch64';
    case '386':
      return 'i686';
    case 'arm':
      return p.variant === 'v6' ? 'armv6l' : 'armv7l';
    case 'ppc64le':
    case 's390x':
    case 'riscv64':
      return p.architecture;
    default:
      throw new InputError(
        'SHALE_UNSUPPORTED_PLATFORM',
        `platform ${platformString(p)} has no known Python wheel architecture; use linux/amd64, linux/arm64, linux/arm/v7, linux/386, linux/ppc64le, linux/s390x or linux/riscv64`,
      );
  }
}

const LEGACY_MANYLINUX: Record<string, string> = { '2_17': 'manylinux2014', '2_12': 'manylinux2010', '2_5': 'manylinux1' };

/** Platform tags for a target, best first (packaging's `_linux_platforms`). */
export function platformTags(env: TargetEnv): string[] {
  if (env.platform.os !== 'linux') {
    throw new InputError('SHALE_UNSUPPORTED_PLATFORM', `platform ${platformString(env.platform)} is not Linux; shale builds Linux images only`);
  }
  const arch = pythonArch(env.platform);
  const out: string[] = [];
  const [major, minor] = env.libc.version;
  if (env.libc.kind === 'glibc') {
    // packaging goes down to glibc 2.5 only where manylinux1/2010 existed (x86_64, i686), else to 2.17.
    const lowest = arch === 'x86_64' || arch === 'i686' ? 5 : 17;
    if (major === 2) {
      for (let m = minor; m >= lowest; m--) {
        out.push(`manylinux_2_${m}_${arch}`);
        const legacy = LEGACY_MANYLINUX[`2_${m}`];
        if (legacy) out.push(`${legacy}_${arch}`);
      }
    }
  } else {
    for (let m = minor; m >= 0; m--) out.push(`musllinux_${major}_${m}_${arch}`);
  }
  out.push(`linux_${arch}`);
  return out;
}

function parsePython(python: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(python.trim());
  if (!m) throw new InputError('SHALE_BAD_PYTHON', `Python version "${python}" is not of the form X.Y (like "3.11"); set python in [tool.shale]`);
  return [Number(m[1]), Number(m[2])];
}

/**
 * Every tag a wheel may carry to install on the target, best first: packaging's `cpython_tags`
 * (cpXY-cpXY, cpXY-abi3, cpXY-none, older cpXY-abi3) then `compatible_tags` (pyXY/py3 on the
 * platforms, cpXY-none-any, pyXY-none-any ...). The index of a tag is its preference.
 */
export function supportedTags(env: TargetEnv): string[] {
  const [major, minor] = parsePython(env.python);
  const plats = platformTags(env);
  const interp = `cp${major}${minor}`;
  // Before 3.8, the default (pymalloc) build had the "m" ABI flag.
  const abi = major === 3 && minor < 8 ? `${interp}m` : interp;
  const abi3 = major === 3 && minor >= 2;
  const out: string[] = [];
  for (const p of plats) out.push(`${interp}-${abi}-${p}`);
  if (abi3) for (const p of plats) out.push(`${interp}-abi3-${p}`);
  for (const p of plats) out.push(`${interp}-none-${p}`);
  if (abi3) for (let m = minor - 1; m > 1; m--) for (const p of plats) out.push(`cp${major}${m}-abi3-${p}`);
  const pyRange = [`py${major}${minor}`, `py${major}`];
  for (let m = minor - 1; m >= 0; m--) pyRange.push(`py${major}${m}`);
  for (const v of pyRange) for (const p of plats) out.push(`${v}-none-${p}`);
  out.push(`${interp}-none-any`);
  for (const v of pyRange) out.push(`${v}-none-any`);
  return out;
}

/**
 * The rank of a wheel file for a target: the index of its best tag in `supportedTags`, or
 * undefined when it does not install there (or is not a wheel file name).
 */
export function wheelRank(filename: string, tagIndex: ReadonlyMap<string, number>): number | undefined {
  const w = parseWheelFilename(filename);
  if (!w) return undefined;
  let best: number | undefined;
  for (const t of w.tags) {
    const i = tagIndex.get(t);
    if (i !== undefined && (best === undefined || i < best)) best = i;
  }
  return best;
}

const tagIndexes = new Map<string, ReadonlyMap<string, number>>();

/** A tag → preference index map for `wheelRank` (made once per target: every package asks). */
export function tagIndex(env: TargetEnv): ReadonlyMap<string, number> {
  const key = JSON.stringify([env.python, env.platform, env.libc]);
  let m = tagIndexes.get(key);
  if (!m) {
    const made = new Map<string, number>();
    supportedTags(env).forEach((t, i) => {
      if (!made.has(t)) made.set(t, i);
    });
    tagIndexes.set(key, (m = made));
  }
  return m;
}

/**
 * The best wheel among file names for the target (lowest tag index; then the highest build
 * number, as pip does), or undefined when none fits. Other file names are ignored.
 */
export function chooseWheel(files: readonly string[], env: TargetEnv): string | undefined {
  const idx = tagIndex(env);
  let best: { file: string; rank: number; build: number } | undefined;
  for (const file of files) {
    const rank = wheelRank(file, idx);
    if (rank === undefined) continue;
    const build = parseWheelFilename(file)?.build?.number ?? -1;
    const better = !best || rank < best.rank || (rank === best.rank && (build > best.build || (build === best.build && file < best.file)));
    if (better) best = { file, rank, build };
  }
  return best?.file;
}
