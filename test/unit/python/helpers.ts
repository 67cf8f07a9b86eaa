/** Test helpers: real wheel files (zipped in-process, as Python's zipfile lays them out), temp dirs, and entries written to disk. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, writeFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { crc32, deflateRawSync } from 'node:zlib';
import type { Entry } from '../../../src/layer/entry.js';

export interface Member {
  name: string;
  data: string | Buffer;
  mode?: number;
  /** Stored (method 0) instead of deflated. */
  stored?: boolean;
}

/** A fresh temporary directory; removed by the returned cleanup. */
export async function tempDir(prefix = 'shale-py-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function cleanup(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** 2020-01-01 00:00:00 as MS-DOS date and time, the fixed timestamp of every member. */
const DOS_DATE = ((2020 - 1980) << 9) | (1 << 5) | 1;
const DOS_TIME = 0;

/**
 * Writes a zip in-process with exactly the members given (names are not checked, duplicates are
 * kept), laid out as Python's zipfile writes one to a seekable file: a local header with the
 * CRC and sizes filled in (no data descriptor, no extra fields), raw deflate (zlib's default
 * level) or stored data, then the central directory ("made by" Unix, version 2.0, external
 * attributes `(S_IFREG | mode) << 16`) and the end record. Names are ASCII, or UTF-8 with
 * flag bit 11. Every member is dated 2020-01-01 00:00:00. No zip64: a test that needs it
 * writes it with Python on purpose (see metadata-fetch.test.ts).
 */
export function writeZip(path: string, members: Member[]): void {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const m of members) {
    const data = Buffer.from(m.data);
    const stored = m.stored === true;
    const body = stored ? data : deflateRawSync(data);
    const ascii = /^[\x00-\x7f]*$/.test(m.name);
    const name = Buffer.from(m.name, 'utf8');
    const flags = ascii ? 0 : 0x800;
    const method = stored ? 0 : 8;
    const crc = crc32(data);
    if (data.length > 0xfffffffe || body.length > 0xfffffffe || offset > 0xfffffffe)
      throw new Error(`writeZip: ${m.name} needs zip64; write that zip with Python`);

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed to extract
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28); // extra length
    parts.push(local, name, body);

    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt8(20, 4); // version made by: 2.0
    cd.writeUInt8(3, 5); // ... on Unix
    cd.writeUInt16LE(20, 6); // version needed to extract
    cd.writeUInt16LE(flags, 8);
    cd.writeUInt16LE(method, 10);
    cd.writeUInt16LE(DOS_TIME, 12);
    cd.writeUInt16LE(DOS_DATE, 14);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(body.length, 20);
    cd.writeUInt32LE(data.length, 24);
    cd.writeUInt16LE(name.length, 28);
    // extra length, comment length, disk number start, internal attributes: 0
    cd.writeUInt32LE((0o100000 | (m.mode ?? 0o644)) * 0x10000, 38);
    cd.writeUInt32LE(offset, 42);
    central.push(cd, name);
    offset += local.length + name.length + body.length;
  }
  const cdSize = central.reduce((n, b) => n + b.length, 0);
  if (members.length > 0xffff || cdSize + offset > 0xfffffffe) throw new Error('writeZip: the zip needs zip64; write it with Python');
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  // this disk, the directory's disk: 0
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(cdSize, 12);
  end.writeUInt32LE(offset, 16);
  // comment length: 0
  writeFileSync(path, Buffer.concat([...parts, ...central, end]));
}

const b64 = (data: string | Buffer): string => createHash('sha256').update(data).digest('base64url');

/** A RECORD for members (plus its own row), as wheel builders write it. */
export function recordFor(distInfo: string, members: Member[]): string {
  return [...members.map((m) => `${m.name},sha256=${b64(m.data)},${Buffer.from(m.data).length}`), `${distInfo}/RECORD,,`].join('\n') + '\n';
}

export interface WheelSpec {
  name: string;
  version: string;
  tag?: string;
  files: Member[];
  rootIsPurelib?: boolean;
  entryPoints?: string;
  /** Change RECORD text after it is computed (to test verification). */
  editRecord?: (record: string) => string;
  /** Extra METADATA lines after Name and Version ("Requires-Dist: six>=1.0", "Requires-Python: >=3.8"). */
  metadata?: string[];
}

/** Builds a real wheel file in dir and returns its path and filename. */
export function makeWheel(dir: string, spec: WheelSpec): { path: string; filename: string } {
  const tag = spec.tag ?? 'py3-none-any';
  const distInfo = `${spec.name}-${spec.version}.dist-info`;
  const members: Member[] = [
    ...spec.files,
    {
      name: `${distInfo}/METADATA`,
      data: `Metadata-Version: 2.1\nName: ${spec.name}\nVersion: ${spec.version}\n${(spec.metadata ?? []).map((l) => `${l}\n`).join('')}`,
    },
    { name: `${distInfo}/WHEEL`, data: `Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: ${spec.rootIsPurelib ?? true}\nTag: ${tag}\n` },
  ];
  if (spec.entryPoints) members.push({ name: `${distInfo}/entry_points.txt`, data: spec.entryPoints });
  let record = recordFor(distInfo, members);
  if (spec.editRecord) record = spec.editRecord(record);
  members.push({ name: `${distInfo}/RECORD`, data: record });
  const filename = `${spec.name}-${spec.version}-${tag}.whl`;
  const path = join(dir, filename);
  writeZip(path, members);
  return { path, filename };
}

/** Repacks an installed distribution of the machine's python3 (from its RECORD) into a real wheel. */
export function repackInstalled(dist: string, outDir: string): { path: string; filename: string } {
  const py = [
    'import sys, os, csv, zipfile, importlib.metadata as md',
    'd = md.distribution(sys.argv[1])',
    'site = str(d.locate_file(""))',
    'info = os.path.basename(str(d._path))',
    'wheel = d.read_text("WHEEL")',
    'tags = [l.split(": ",1)[1].strip() for l in wheel.splitlines() if l.startswith("Tag: ")]',
    'fn = "%s-%s-%s.whl" % (info[:-len(".dist-info")].rsplit("-",1)[0], d.version, tags[0])',
    'out = os.path.join(sys.argv[2], fn)',
    'with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:',
    '    for row in csv.reader(d.read_text("RECORD").splitlines()):',
    '        p = row[0]',
    '        if "__pycache__" in p or p.startswith("..") or p.endswith(("INSTALLER","REQUESTED","direct_url.json")): continue',
    '        z.write(os.path.join(site, p), p)',
    'print(out)',
  ].join('\n');
  const out = execFileSync('python3', ['-c', py, dist, outDir], { encoding: 'utf8' }).trim();
  return { path: out, filename: out.slice(outDir.length + 1) };
}

/** Writes entries under root, as a layer would put them in an image. */
export async function materialize(entries: Entry[], root: string): Promise<void> {
  for (const e of entries) {
    const p = join(root, e.path);
    if (e.type === 'dir') {
      await mkdir(p, { recursive: true });
      continue;
    }
    if (e.type !== 'file') continue;
    await mkdir(dirname(p), { recursive: true });
    await pipeline(await e.open(), createWriteStream(p));
    await chmod(p, e.mode);
  }
}

/** Reads one file entry's bytes. */
export async function entryText(entries: Entry[], path: string): Promise<string> {
  const e = entries.find((x) => x.path === path);
  if (!e || e.type !== 'file') throw new Error(`no file entry ${path}; have ${entries.map((x) => x.path).join(', ')}`);
  const chunks: Buffer[] = [];
  for await (const c of await e.open()) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks).toString('utf8');
}

export { readFile, readdir };
