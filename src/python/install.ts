/**
 * Installs a wheel into layer entries, as the binary distribution format spec says (PEP 427,
 * packaging.python.org "Binary distribution format" and "Recording installed projects"):
 * root files to purelib or platlib, `.data/<scheme>/` to the layout, `#!python` shebangs
 * rewritten, console scripts generated, INSTALLER written and RECORD regenerated.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { InputError } from '../errors.js';
import { bufferEntry, type Entry, type FileEntry } from '../layer/entry.js';
import { launcherScript, parseScriptEntryPoints } from './entry-points.js';
import type { WheelFile } from './finder.js';
import type { InstallLayout } from './layout.js';
import { normalizeName, parseWheelFilename } from './names.js';
import { formatRecord, parseRecord, recordHash, recordHashFromHex, type RecordRow } from './record.js';
import { verifyingStream } from '../oci/verify.js';
import { pipeInto } from '../pipe.js';
import { openMember, readMember, readZipIndex, type ZipMember } from './zip.js';

/** A distribution installed into entries of an image. */
export interface InstalledDist {
  /** PEP 503 normalized. */
  name: string;
  version: string;
  entries: Entry[];
  /** Sum of file sizes. */
  installedSize: number;
  pure: boolean;
  /** Image paths (no leading slash) of every file, sorted. */
  files: string[];
}

/** Content of the INSTALLER file (packaging.python.org, "Recording installed projects"). */
export const INSTALLER = 'shale\n';

const SIGNATURES = new Set(['RECORD.jws', 'RECORD.p7s']);
const SUPPORTED_HASHES = new Set(['sha256', 'sha384', 'sha512']);

function badWheel(wheel: string, what: string): InputError {
  return new InputError('SHALE_BAD_WHEEL', `wheel ${wheel} ${what}; rebuild it with a standard tool (pip wheel, python -m build, uv build)`);
}

/** Parses `Key: value` metadata headers (WHEEL, METADATA) into the first value per key. */
export function parseHeaders(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break;
    const i = line.indexOf(':');
    if (i > 0 && !/^\s/.test(line)) {
      const k = line.slice(0, i).trim().toLowerCase();
      if (!out.has(k)) out.set(k, line.slice(i + 1).trim());
    }
  }
  return out;
}

function findDistInfo(members: ZipMember[], wheel: WheelFile): { dir: string; name: string; version: string } {
  const wn = parseWheelFilename(wheel.filename);
  if (!wn) throw badWheel(wheel.filename, 'has a file name that is not name-version-tags.whl');
  const dirs = new Set<string>();
  for (const m of members) {
    const top = m.name.split('/')[0] ?? '';
    if (top.endsWith('.dist-info') && m.name.includes('/')) dirs.add(top);
  }
  const matching = [...dirs].filter((d) => {
    const stem = d.slice(0, -'.dist-info'.length);
    const i = stem.lastIndexOf('-');
    return i > 0 && normalizeName(stem.slice(0, i)) === normalizeName(wn.name);
  });
  const dir = matching[0];
  if (!dir || matching.length > 1) {
    throw badWheel(wheel.filename, `must have exactly one ${wn.name}-${wn.version}.dist-info directory, found ${[...dirs].join(', ') || 'none'}`);
  }
  const stem = dir.slice(0, -'.dist-info'.length);
  const i = stem.lastIndexOf('-');
  return { dir, name: normalizeName(stem.slice(0, i)), version: stem.slice(i + 1) };
}

/** Hashes one member, returning its sha256 (hex) and the digest in the RECORD's algorithm. */
async function hashMember(
  open: (e: ZipMember['entry']) => Promise<Readable>,
  m: ZipMember,
  algo: string,
): Promise<{ sha256: string; expected: string; size: number }> {
  const sha = createHash('sha256');
  const other = algo === 'sha256' ? undefined : createHash(algo);
  let size = 0;
  const stream = await open(m.entry);
  // 'data' events rather than for-await: async iteration costs several times the hashing itself.
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => {
      sha.update(chunk);
      other?.update(chunk);
      size += chunk.length;
    });
    stream.once('end', resolve);
    stream.once('error', reject);
  });
  const hex = sha.digest('hex');
  const expected = other ? other.digest('base64url') : Buffer.from(hex, 'hex').toString('base64url');
  return { sha256: hex, expected, size };
}

function destination(
  member: string,
  dataDir: string,
  rootDir: string,
  layout: InstallLayout,
  distName: string,
  wheel: string,
): { dest: string; scheme: string } {
  if (member.startsWith(`${dataDir}/`)) {
    const rest = member.slice(dataDir.length + 1);
    const slash = rest.indexOf('/');
    const scheme = slash < 0 ? rest : rest.slice(0, slash);
    const sub = slash < 0 ? '' : rest.slice(slash + 1);
    const base: Record<string, string> = {
      purelib: layout.purelib,
      platlib: layout.platlib,
      scripts: layout.scripts,
      data: layout.data,
      headers: posix.join(layout.headers, distName),
    };
    const dir = base[scheme];
    if (!dir || !sub) {
      throw badWheel(wheel, `has "${member}" under ${dataDir}/, which is not one of purelib, platlib, scripts, data, headers`);
    }
    return { dest: posix.join(dir, sub), scheme };
  }
  return { dest: posix.join(rootDir, member), scheme: 'root' };
}

const imagePath = (abs: string): string => abs.replace(/^\/+/, '');

/** Replaces a `#!python` / `#!pythonw` first line with the image's interpreter, keeping arguments. */
export function rewriteShebang(data: Buffer, interpreter: string): Buffer {
  if (!data.subarray(0, 8).equals(Buffer.from('#!python'))) return data;
  const nl = data.indexOf(0x0a);
  const first = data.subarray(0, nl < 0 ? data.length : nl).toString('utf8');
  const rest = first.startsWith('#!pythonw') ? first.slice('#!pythonw'.length) : first.slice('#!python'.length);
  return Buffer.concat([Buffer.from(`#!${interpreter}${rest.replace(/\r$/, '')}`), nl < 0 ? Buffer.alloc(0) : data.subarray(nl)]);
}

/**
 * Installs a wheel for an image layout into entries: every member is checked against RECORD
 * (a wheel whose files do not match is refused), file entries stream from the zip when the
 * layer is written, and the dist-info gets INSTALLER and a fresh RECORD.
 */
export async function installWheel(wheel: WheelFile, layout: InstallLayout): Promise<InstalledDist> {
  const members = await readZipIndex(wheel.path, wheel.filename);
  const files = members.filter((m) => !m.isDir);
  const byName = new Map(files.map((m) => [m.name, m]));
  const info = findDistInfo(files, wheel);
  const dataDir = `${info.dir.slice(0, -'.dist-info'.length)}.data`;

  const meta = async (name: string): Promise<string | undefined> => {
    const m = byName.get(`${info.dir}/${name}`);
    return m ? (await readMember(wheel.path, m.entry)).toString('utf8') : undefined;
  };
  const wheelMeta = parseHeaders((await meta('WHEEL')) ?? '');
  const wheelVersion = wheelMeta.get('wheel-version');
  if (!wheelVersion) throw badWheel(wheel.filename, `has no ${info.dir}/WHEEL with a Wheel-Version`);
  if (Number(wheelVersion.split('.')[0]) !== 1) {
    throw badWheel(wheel.filename, `is Wheel-Version ${wheelVersion}; shale installs version 1.x wheels only`);
  }
  const rootDir = (wheelMeta.get('root-is-purelib') ?? '').toLowerCase() === 'true' ? layout.purelib : layout.platlib;
  const recordText = await meta('RECORD');
  if (recordText === undefined) throw badWheel(wheel.filename, `has no ${info.dir}/RECORD`);
  const record = new Map(parseRecord(recordText).map((r) => [r.path, r]));

  const rows: RecordRow[] = [];
  const entries: FileEntry[] = [];
  const seen = new Set<string>();
  const add = (dest: string, entry: FileEntry, hash: string): void => {
    if (seen.has(dest)) throw badWheel(wheel.filename, `installs ${dest} twice`);
    seen.add(dest);
    entries.push(entry);
    rows.push({ path: posix.relative(rootDir, dest), hash, size: String(entry.size) });
  };

  const { scripts: eps, invalid } = parseScriptEntryPoints((await meta('entry_points.txt')) ?? '');
  if (invalid.length) throw badWheel(wheel.filename, `has console/gui script entry points shale cannot read: ${invalid.join('; ')}`);
  const generated = new Set(eps.map((e) => posix.join(layout.scripts, e.name)));

  // Every member must be listed in RECORD; sha256 rows are checked as the layer streams the member,
  // other algorithms (rare) here, by reading the member once.
  const open = (entry: ZipMember['entry']) => openMember(wheel.path, entry);
  for (const m of files) {
    const base = m.name.slice(info.dir.length + 1);
    if (m.name.startsWith(`${info.dir}/`) && (base === 'RECORD' || base === 'INSTALLER' || SIGNATURES.has(base))) continue;
    const row = record.get(m.name);
    // An unhashed .pyc is a cache the interpreter rebuilds; leaving it out is safer than trusting it.
    if (m.name.endsWith('.pyc') && !row?.hash) continue;
    if (!row || !row.hash) throw badWheel(wheel.filename, `has ${m.name}, which its RECORD does not list with a hash; the wheel is damaged or was modified`);
    const eq = row.hash.indexOf('=');
    const algo = row.hash.slice(0, eq);
    if (eq < 0 || !SUPPORTED_HASHES.has(algo))
      throw badWheel(wheel.filename, `lists ${m.name} in RECORD with hash "${row.hash}"; sha256, sha384 or sha512 is required`);
    const mismatch = (actual: string) =>
      new InputError(
        'SHALE_RECORD_MISMATCH',
        `wheel ${wheel.filename}: ${m.name} does not match its RECORD entry (RECORD says ${row.hash}, ${row.size || '?'} bytes; the file ${actual}); the wheel is damaged or was modified. Delete it from the cache or find-links and download it again`,
      );
    const { dest, scheme } = destination(m.name, dataDir, rootDir, layout, info.name, wheel.filename);
    if (algo === 'sha256' && scheme !== 'scripts') {
      // The common case: checked while the layer streams the member, so it is inflated once.
      if (row.size !== '' && Number(row.size) !== m.size) throw mismatch(`has ${m.size} bytes`);
      const hex = Buffer.from(row.hash.slice(eq + 1), 'base64url').toString('hex');
      const path = wheel.path;
      const entry = m.entry;
      // pipeInto, not pipe: a read error in the zip must fail the layer, not leave it waiting.
      const open = async () => pipeInto(await openMember(path, entry), verifyingStream(`sha256:${hex}`, mismatch, m.size));
      add(dest, { type: 'file', path: imagePath(dest), mode: m.mode & 0o111 ? 0o755 : 0o644, size: m.size, open }, recordHashFromHex(hex));
      continue;
    }
    const got = await hashMember(open, m, algo);
    if (got.expected !== row.hash.slice(eq + 1) || (row.size !== '' && Number(row.size) !== got.size)) {
      throw mismatch(`has ${algo}=${got.expected}, ${got.size} bytes`);
    }
    if (scheme === 'scripts') {
      if (generated.has(dest)) continue; // the entry point's launcher replaces it, as with pip
      const chunks: Buffer[] = [];
      for await (const c of await open(m.entry)) chunks.push(c as Buffer);
      const data = rewriteShebang(Buffer.concat(chunks), layout.interpreter);
      add(dest, bufferEntry(imagePath(dest), data, 0o755), recordHash(data));
      continue;
    }
    const mode = m.mode & 0o111 ? 0o755 : 0o644;
    const path = wheel.path;
    const entry = m.entry;
    add(dest, { type: 'file', path: imagePath(dest), mode, size: got.size, open: () => openMember(path, entry) }, recordHashFromHex(got.sha256));
  }

  for (const ep of eps) {
    const dest = posix.join(layout.scripts, ep.name);
    const data = launcherScript(layout.interpreter, ep);
    add(dest, bufferEntry(imagePath(dest), data, 0o755), recordHash(data));
  }
  const installerPath = posix.join(rootDir, info.dir, 'INSTALLER');
  add(installerPath, bufferEntry(imagePath(installerPath), INSTALLER), recordHash(INSTALLER));
  const recordPath = posix.join(rootDir, info.dir, 'RECORD');
  rows.push({ path: posix.relative(rootDir, recordPath), hash: '', size: '' });
  const recordEntry = bufferEntry(imagePath(recordPath), formatRecord(rows));
  entries.push(recordEntry);

  return {
    name: info.name,
    version: info.version,
    entries,
    installedSize: entries.reduce((n, e) => n + e.size, 0),
    pure: wheel.pure,
    files: entries.map((e) => e.path).sort(),
  };
}
