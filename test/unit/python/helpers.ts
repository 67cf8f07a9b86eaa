/** Test helpers: real wheel files (zipped by Python's zipfile), temp dirs, and entries written to disk. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
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

/** Writes a zip with Python's zipfile, exactly the members given (names are not checked). */
export function writeZip(path: string, members: Member[]): void {
  const spec = members.map((m) => ({ name: m.name, data: Buffer.from(m.data).toString('base64'), mode: m.mode ?? 0o644, stored: m.stored === true }));
  const py = [
    'import sys, json, base64, zipfile',
    'spec = json.load(sys.stdin)',
    'with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:',
    '    for m in spec:',
    '        zi = zipfile.ZipInfo(m["name"], (2020, 1, 1, 0, 0, 0))',
    '        zi.external_attr = (0o100000 | m["mode"]) << 16',
    '        zi.compress_type = zipfile.ZIP_STORED if m["stored"] else zipfile.ZIP_DEFLATED',
    '        z.writestr(zi, base64.b64decode(m["data"]))',
  ].join('\n');
  execFileSync('python3', ['-c', py, path], { input: JSON.stringify(spec) });
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
    { name: `${distInfo}/METADATA`, data: `Metadata-Version: 2.1\nName: ${spec.name}\nVersion: ${spec.version}\n${(spec.metadata ?? []).map((l) => `${l}\n`).join('')}` },
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
