// Small real Debian artifacts for the unit tests: .deb files (ar + control.tar.gz + data.tar.gz),
// a Packages index listing them, and a Release signed with a key made here.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { gzipSync } from 'node:zlib';
import * as openpgp from 'openpgp';
import { tarBuffer, type TarEntry } from '../../support/tar.js';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function arMember(name: string, data: Buffer): Buffer {
  const h = `${name}/`.padEnd(16) + '0'.padEnd(12) + '0'.padEnd(6) + '0'.padEnd(6) + '100644'.padEnd(8) + String(data.length).padEnd(10) + '`\n';
  return Buffer.concat([Buffer.from(h, 'latin1'), data, data.length % 2 ? Buffer.from('\n') : Buffer.alloc(0)]);
}

export interface DebSpec {
  name: string;
  version: string;
  arch?: string;
  depends?: string;
  /** data.tar entries (./-relative names). */
  files: TarEntry[];
  conffiles?: string[];
  postinst?: string;
  multiArch?: string;
}

/** A .deb built as dpkg-deb builds them, and its control paragraph. */
export async function makeDeb(s: DebSpec): Promise<{ bytes: Buffer; control: string }> {
  const control =
    `Package: ${s.name}\nVersion: ${s.version}\nArchitecture: ` +
    `${s.arch ?? 'amd64'}\n${s.multiArch ? `Multi-Arch: ${s.multiArch}\n` : ''}${s.depends ? `Depends: ${s.depends}\n` : ''}Description: ` +
    `test package ${s.name}\n two lines\n`;
  const md5 = s.files
    .filter((f) => f.data !== undefined && !(s.conffiles ?? []).includes(f.header.name.replace(/^\./, '')))
    .map((f) => `${createHash('md5').update(Buffer.from(f.data!)).digest('hex')}  ${f.header.name.replace(/^\.\//, '')}\n`)
    .join('');
  const ctl: TarEntry[] = [
    { header: { name: './control' }, data: control },
    { header: { name: './md5sums' }, data: md5 },
  ];
  if (s.conffiles) ctl.push({ header: { name: './conffiles' }, data: s.conffiles.join('\n') + '\n' });
  if (s.postinst) ctl.push({ header: { name: './postinst', mode: 0o755 }, data: s.postinst });
  const bytes = Buffer.concat([
    Buffer.from('!<arch>\n'),
    arMember('debian-binary', Buffer.from('2.0\n')),
    arMember('control.tar.gz', gzipSync(await tarBuffer(ctl))),
    arMember('data.tar.gz', gzipSync(await tarBuffer([{ header: { name: './', type: 'directory' } }, ...s.files]))),
  ]);
  return { bytes, control };
}

/** A Packages paragraph for a .deb at `filename`. */
export function packagesEntry(control: string, filename: string, deb: Buffer): string {
  return `${control.replace(/Description:[\s\S]*$/, '')}Filename: ${filename}\nSize: ${deb.length}\nSHA256: ${sha256(deb)}\n`;
}

/** A signing key made for a test, its public half binary (a .gpg keyring). */
export async function testKey(): Promise<{ priv: openpgp.PrivateKey; keyring: Buffer }> {
  const k = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: 'test archive' }], format: 'object' });
  return { priv: k.privateKey, keyring: Buffer.from(k.publicKey.write()) };
}

/** An InRelease for `files` (path → bytes below dists/SUITE), signed by `priv`. */
export async function inRelease(suite: string, files: Record<string, Buffer>, priv: openpgp.PrivateKey): Promise<string> {
  const lines = Object.entries(files)
    .map(([p, b]) => ` ${sha256(b)} ${b.length} ${p}`)
    .join('\n');
  const text = `Origin: Test\nSuite: ${suite}\nCodename: ${suite}\nArchitectures: amd64 arm64\nComponents: main\nSHA256:\n${lines}\n`;
  return openpgp.sign({ message: await openpgp.createCleartextMessage({ text }), signingKeys: priv });
}

/** An archive served over real HTTP on 127.0.0.1: `files` by URL path (`/debian/dists/...`), 404 for the rest. */
export async function serveArchive(files: ReadonlyMap<string, Buffer>): Promise<{ uri: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const b = files.get(req.url ?? '');
    if (b) res.writeHead(200, { 'content-length': b.length }).end(b);
    else res.writeHead(404).end();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  return {
    uri: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/debian`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
