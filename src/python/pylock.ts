/**
 * Reads a PEP 751 lock (`pylock.toml`, `pylock.<name>.toml`): every package with its pinned
 * version, marker and the wheels (url or path, size, sha256) the lock names, so wheels are chosen
 * among those files without asking an index. Local `directory` packages (the project itself) are
 * not third-party packages and are skipped; `vcs` and `archive` packages need a build and are refused.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { InputError } from '../errors.js';
import { Fields, fileNameOf, headerLines, isTable, readTomlLock, sha256Of, type Table } from './lock-toml.js';
import { isValidName, normalizeName } from './names.js';
import type { LockedFile, LockedPackage } from './requirements.js';

/** How to make a good pylock.toml, for every message about a bad one. */
export const PYLOCK_REGENERATE = 'regenerate it with `pip lock -r requirements.in -o pylock.toml` or `uv export --format pylock.toml -o pylock.toml`';

/** What a pylock.toml says: its packages, and the dependency groups to install by default. */
export interface PyLock {
  packages: LockedPackage[];
  /** Marker variables PEP 751 adds (`extras`, `dependency_groups`), for evaluating package markers. */
  markerVars: Record<string, string>;
  /** What `shale lock` recorded under `[tool.shale.inputs]`: input file → digest of its requirements. */
  inputs: Record<string, string>;
}

function fileOf(t: Table, f: Fields, lockDir: string, what: string): LockedFile {
  const url = f.str(t, 'url');
  const path = f.str(t, 'path');
  const name = f.str(t, 'name') ?? (url ? fileNameOf(url) : path ? fileNameOf(path) : undefined);
  if (!name || (!url && !path)) throw f.bad(`a ${what} entry needs \`url\` or \`path\``);
  const hashes = f.table(t, 'hashes');
  if (!hashes) throw f.bad(`${what} ${name} has no \`hashes\` (PEP 751 requires them)`);
  const hex = typeof hashes['sha256'] === 'string' ? sha256Of(`sha256:${hashes['sha256']}`, f) : undefined;
  const out: LockedFile = { filename: name };
  if (hex) out.sha256 = hex;
  if (url) out.url = url;
  else if (path) out.path = isAbsolute(path) ? path : resolve(lockDir, path);
  const size = f.num(t, 'size');
  if (size !== undefined) out.size = size;
  return out;
}

/** Reads a pylock.toml into locked packages; malformed or unpinned input names file and package. */
export async function readPylock(file: string): Promise<PyLock> {
  const { doc, text } = await readTomlLock(file, PYLOCK_REGENERATE);
  const top = new Fields(file, PYLOCK_REGENERATE);
  const version = doc['lock-version'];
  if (typeof version !== 'string' || !/^1(\.\d+)?$/.test(version)) {
    throw top.bad(`\`lock-version\` is ${JSON.stringify(version)}; shale reads PEP 751 version 1 locks`);
  }
  const lines = headerLines(text, 'packages');
  const lockDir = dirname(file);
  const packages: LockedPackage[] = [];
  top.tables(doc, 'packages').forEach((p, i) => {
    const line = lines[i] ?? 1;
    const rawName = p['name'];
    const where = `${file}:${line}`;
    if (typeof rawName !== 'string' || !isValidName(rawName))
      throw new Fields(where, PYLOCK_REGENERATE).bad(`package ${JSON.stringify(rawName)} has no valid \`name\``);
    const f = new Fields(`${where} (package ${rawName})`, PYLOCK_REGENERATE);
    if (p['directory'] !== undefined) return; // the project itself, or a local library (layers' paths)
    if (p['vcs'] !== undefined || p['archive'] !== undefined) {
      throw new InputError(
        'SHALE_LOCK_UNSUPPORTED',
        `${where}: package ${rawName} comes from a ${p['vcs'] !== undefined ? 'VCS checkout' : 'source archive'}, which needs a build; publish a wheel of it and lock that instead (${PYLOCK_REGENERATE})`,
      );
    }
    const version = f.str(p, 'version');
    if (!version) {
      throw new InputError(
        'SHALE_UNPINNED',
        `${where}: package ${rawName} has no \`version\`; shale installs exactly what a lock pins. ${PYLOCK_REGENERATE[0]?.toUpperCase()}${PYLOCK_REGENERATE.slice(1)}`,
      );
    }
    const files = f.tables(p, 'wheels').map((w) => fileOf(w, f, lockDir, 'wheel'));
    const sdist = f.table(p, 'sdist');
    if (sdist) files.push(fileOf(sdist, f, lockDir, 'sdist'));
    const pkg: LockedPackage = {
      name: normalizeName(rawName),
      version,
      hashes: files.flatMap((x) => (x.sha256 ? [`sha256:${x.sha256}`] : [])),
      source: { file, line },
    };
    if (files.length) pkg.files = files;
    const marker = f.str(p, 'marker');
    if (marker) pkg.marker = marker;
    packages.push(pkg);
  });
  const groups = top.strings(doc, 'default-groups');
  const tool = isTable(doc['tool']) && isTable(doc['tool']['shale']) && isTable(doc['tool']['shale']['inputs']) ? doc['tool']['shale']['inputs'] : {};
  const inputs = Object.fromEntries(Object.entries(tool).filter((e): e is [string, string] => typeof e[1] === 'string'));
  return { packages, markerVars: { extras: '', dependency_groups: groups.join(' ') }, inputs };
}
