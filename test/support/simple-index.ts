/**
 * A local package index for tests and benchmarks: PEP 503 HTML and PEP 691 JSON project pages
 * over the wheels and sdists of some directories, PEP 658/714 `.metadata` files, and file
 * downloads with HTTP Range support. Real pip can use it (`pip install --index-url <url>`).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { normalizeName, parseWheelFilename } from '../../src/python/names.js';

export interface SimpleIndexOptions {
  /** Answer PEP 691 JSON when the Accept header asks for it (default true). */
  json?: boolean;
  /** Serve `<file>.metadata` and advertise it, with its sha256 (default true). */
  metadata?: boolean;
  /** Honour Range requests on files (default true); false answers 200 with the whole file. */
  range?: boolean;
  /** Give the sha256 of files (`#sha256=` fragment / "hashes") (default true). */
  hashes?: boolean;
  /** File name → yank reason ('' for none). */
  yanked?: Record<string, string>;
  /** File name → Requires-Python specifier. */
  requiresPython?: Record<string, string>;
  /** Require HTTP Basic auth with these credentials. */
  auth?: { user: string; password: string };
  /** `Cache-Control: max-age=N` on project pages, as PyPI sends (600); none by default. */
  maxAge?: number;
}

export interface SimpleIndex {
  /** `http://127.0.0.1:PORT/simple` */
  url: string;
  /** Every request, in order; `range` is the Range header when one was sent. */
  requests: { method: string; path: string; range?: string }[];
  close(): Promise<void>;
}

interface Dist {
  filename: string;
  path: string;
  project: string;
  version: string;
  sha256: string;
  size: number;
  mtime: Date;
  /** The wheel's METADATA bytes (wheels only). */
  metadata?: Buffer;
}

const SDIST_RE = /^(.+)-([^-]+)\.(tar\.gz|zip)$/i;

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Why a wheel's zip could not be read: the index refuses to start, as it would with a broken fixture. */
class NotAZip extends Error {}

/**
 * The bytes of each member of a zip, read from its (zip64) end record and central directory:
 * a reader of its own, independent of shale's (yauzl in src/python), so an index built from a
 * wheel does not depend on the code under test. Returns the names in directory order and a
 * reader; a duplicated name reads its last member, as Python's zipfile does.
 */
function zipMembers(b: Buffer, file: string): { names: string[]; read(name: string): Buffer } {
  const bad = (why: string): never => {
    throw new NotAZip(`simple index: ${file} is not a readable zip: ${why}`);
  };
  let eocd = -1;
  for (let i = b.length - 22; i >= Math.max(0, b.length - 22 - 0xffff); i--) {
    if (b.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) bad('no end of central directory record');
  let count = b.readUInt16LE(eocd + 10);
  let cdOffset = b.readUInt32LE(eocd + 16);
  if (eocd >= 20 && b.readUInt32LE(eocd - 20) === 0x07064b50) {
    const z64 = Number(b.readBigUInt64LE(eocd - 20 + 8));
    if (z64 + 56 > b.length || b.readUInt32LE(z64) !== 0x06064b50) bad('bad zip64 end record');
    count = Number(b.readBigUInt64LE(z64 + 32));
    cdOffset = Number(b.readBigUInt64LE(z64 + 48));
  }
  const members = new Map<string, { method: number; csize: number; offset: number }>();
  const names: string[] = [];
  let p = cdOffset;
  for (let n = 0; n < count; n++) {
    if (p + 46 > b.length || b.readUInt32LE(p) !== 0x02014b50) bad(`bad central directory entry ${n}`);
    const flags = b.readUInt16LE(p + 8);
    const method = b.readUInt16LE(p + 10);
    let csize = b.readUInt32LE(p + 20);
    let usize = b.readUInt32LE(p + 24);
    const nameLen = b.readUInt16LE(p + 28);
    const extraLen = b.readUInt16LE(p + 30);
    const commentLen = b.readUInt16LE(p + 32);
    let offset = b.readUInt32LE(p + 42);
    const name = b.subarray(p + 46, p + 46 + nameLen).toString(flags & 0x800 ? 'utf8' : 'latin1');
    // zip64 extended information: the fields that are 0xffffffff above, in this order.
    for (let e = p + 46 + nameLen; e + 4 <= p + 46 + nameLen + extraLen;) {
      const id = b.readUInt16LE(e);
      const size = b.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        const next = (): number => {
          const v = Number(b.readBigUInt64LE(q));
          q += 8;
          return v;
        };
        if (usize === 0xffffffff) usize = next();
        if (csize === 0xffffffff) csize = next();
        if (offset === 0xffffffff) offset = next();
      }
      e += 4 + size;
    }
    names.push(name);
    members.set(name, { method, csize, offset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return {
    names,
    read(name: string): Buffer {
      const m = members.get(name) ?? bad(`no member ${name}`);
      if (b.readUInt32LE(m.offset) !== 0x04034b50) bad(`no local header for ${name}`);
      const start = m.offset + 30 + b.readUInt16LE(m.offset + 26) + b.readUInt16LE(m.offset + 28);
      const data = b.subarray(start, start + m.csize);
      if (m.method === 0) return Buffer.from(data);
      if (m.method === 8) return inflateRawSync(data);
      return bad(`${name} uses compression method ${m.method}`);
    },
  };
}

/** The METADATA of a wheel of `project`: the first `<name>-<version>.dist-info/METADATA` whose name normalizes to it. */
function wheelMetadata(bytes: Buffer, file: string, project: string): Buffer | undefined {
  const zip = zipMembers(bytes, file);
  for (const n of zip.names) {
    const parts = n.split('/');
    if (parts.length !== 2 || parts[1] !== 'METADATA' || !parts[0]!.endsWith('.dist-info')) continue;
    const stem = parts[0]!.slice(0, -'.dist-info'.length);
    const dash = stem.lastIndexOf('-');
    if (normalizeName(dash < 0 ? stem : stem.slice(0, dash)) === project) return zip.read(n);
  }
  return undefined;
}

async function scan(dirs: string[]): Promise<Dist[]> {
  const out: Dist[] = [];
  for (const dir of dirs) {
    for (const filename of (await readdir(dir)).sort()) {
      const w = parseWheelFilename(filename);
      const s = w ? undefined : SDIST_RE.exec(filename);
      if (!w && !s) continue;
      const path = join(dir, filename);
      const bytes = await readFile(path);
      const st = await stat(path);
      const d: Dist = {
        filename,
        path,
        project: normalizeName(w ? w.name : (s?.[1] ?? '')),
        version: w ? w.version : (s?.[2] ?? ''),
        sha256: sha256(bytes),
        size: bytes.length,
        mtime: st.mtime,
      };
      const md = filename.endsWith('.whl') ? wheelMetadata(bytes, path, d.project) : undefined;
      if (md) d.metadata = md;
      out.push(d);
    }
  }
  return out;
}

const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The media type to answer with: PEP 691 JSON only when the client ranks it at least as high as HTML. */
function wantsJson(accept: string | undefined): boolean {
  let json = 0;
  let html = 0;
  for (const part of (accept ?? '').split(',')) {
    const [type = '', ...params] = part
      .trim()
      .split(';')
      .map((x) => x.trim());
    const qp = params.find((p) => p.startsWith('q='));
    const q = qp ? Number(qp.slice(2)) || 0 : 1;
    const t = type.toLowerCase();
    if (t === 'application/vnd.pypi.simple.v1+json' || t === 'application/vnd.pypi.simple.latest+json') json = Math.max(json, q);
    else if (t === 'application/vnd.pypi.simple.v1+html' || t === 'application/vnd.pypi.simple.latest+html' || t === 'text/html' || t === '*/*')
      html = Math.max(html, q);
  }
  return json > 0 && json >= html;
}

/** A `bytes=` Range header against a size: the range, 'unsatisfiable', or undefined to ignore it (RFC 9110 §14.2). */
function parseRange(h: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec((h ?? '').trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/**
 * Starts an index over the `.whl` files and `name-version.tar.gz`/`.zip` sdists of `dirs`,
 * grouped by PEP 503 normalized project name: `/simple/` (all projects), `/simple/<name>/`
 * (HTML, or PEP 691 JSON when asked), `/files/<file>` (Range: `bytes=a-b`, `a-`, `-n`; 206 with
 * Content-Range, 416 when unsatisfiable) and `/files/<file>.metadata`. Hashes and metadata are
 * computed once here; files are read from disk per request.
 */
export async function startSimpleIndex(dirs: string[], opts: SimpleIndexOptions = {}): Promise<SimpleIndex> {
  const o = { json: true, metadata: true, range: true, hashes: true, ...opts };
  const dists = await scan(dirs);
  const byFile = new Map(dists.map((d) => [d.filename, d]));
  const projects = new Map<string, Dist[]>();
  for (const d of dists) projects.set(d.project, [...(projects.get(d.project) ?? []), d]);
  const requests: SimpleIndex['requests'] = [];
  const authHeader = o.auth ? `Basic ${Buffer.from(`${o.auth.user}:${o.auth.password}`).toString('base64')}` : undefined;

  const send = (res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': type, 'content-length': String(Buffer.byteLength(body)), ...extra });
    res.end(body);
  };
  const notFound = (res: ServerResponse): void => send(res, 404, 'text/plain', 'not found\n');

  const mdInfo = (d: Dist): { sha256: string } | undefined => (o.metadata && d.metadata ? { sha256: sha256(d.metadata) } : undefined);

  const projectHtml = (name: string, files: Dist[]): string => {
    const rows = files.map((d) => {
      const attrs = [`href="../../files/${encodeURIComponent(d.filename)}${o.hashes ? `#sha256=${d.sha256}` : ''}"`];
      const rp = o.requiresPython?.[d.filename];
      if (rp !== undefined) attrs.push(`data-requires-python="${escapeHtml(rp)}"`);
      const y = o.yanked?.[d.filename];
      if (y !== undefined) attrs.push(`data-yanked="${escapeHtml(y)}"`);
      const md = mdInfo(d);
      if (md) attrs.push(`data-dist-info-metadata="sha256=${md.sha256}"`, `data-core-metadata="sha256=${md.sha256}"`);
      return `    <a ${attrs.join(' ')}>${escapeHtml(d.filename)}</a><br/>`;
    });
    return `<!DOCTYPE html>\n<html>\n  <head><meta name="pypi:repository-version" content="1.1"><title>Links for ${escapeHtml(name)}</title></head>\n  <body>\n    <h1>Links for ${escapeHtml(name)}</h1>\n${rows.join('\n')}\n  </body>\n</html>\n`;
  };

  const projectJson = (name: string, files: Dist[]): string =>
    JSON.stringify({
      meta: { 'api-version': '1.1' },
      name,
      versions: [...new Set(files.map((d) => d.version))],
      files: files.map((d) => {
        const md = mdInfo(d) ?? false;
        const y = o.yanked?.[d.filename];
        const f: Record<string, unknown> = {
          filename: d.filename,
          url: `../../files/${encodeURIComponent(d.filename)}`,
          hashes: o.hashes ? { sha256: d.sha256 } : {},
          size: d.size,
          yanked: y === undefined ? false : y === '' ? true : y,
          'core-metadata': md,
          'dist-info-metadata': md,
        };
        const rp = o.requiresPython?.[d.filename];
        if (rp !== undefined) f['requires-python'] = rp;
        return f;
      }),
    });

  const serveFile = (req: IncomingMessage, res: ServerResponse, d: Dist): void => {
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      etag: `"${d.sha256}"`,
      'last-modified': d.mtime.toUTCString(),
      ...(o.range ? { 'accept-ranges': 'bytes' } : {}),
    };
    const r = o.range ? parseRange(req.headers.range, d.size) : undefined;
    if (r === 'unsatisfiable') return send(res, 416, 'text/plain', '', { 'content-range': `bytes */${d.size}` });
    const [status, start, end] = r ? [206, r.start, r.end] : [200, 0, d.size - 1];
    if (r) headers['content-range'] = `bytes ${start}-${end}/${d.size}`;
    res.writeHead(status, { ...headers, 'content-length': String(Math.max(0, end - start + 1)) });
    if (req.method === 'HEAD' || end < start) return void res.end();
    const stream = createReadStream(d.path, { start, end });
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const entry: SimpleIndex['requests'][number] = { method: req.method ?? 'GET', path };
    if (typeof req.headers.range === 'string') entry.range = req.headers.range;
    requests.push(entry);
    if (authHeader && req.headers.authorization !== authHeader) {
      return send(res, 401, 'text/plain', 'authentication required\n', { 'www-authenticate': 'Basic realm="simple-index"' });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'method not allowed\n');
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      return notFound(res);
    }
    const json = o.json && wantsJson(req.headers.accept);
    const vary = { vary: 'Accept' };
    if (decoded === '/simple' || decoded === '/simple/') {
      if (decoded === '/simple') return send(res, 301, 'text/plain', '', { location: '/simple/' });
      const names = [...projects.keys()].sort();
      if (json)
        return send(
          res,
          200,
          'application/vnd.pypi.simple.v1+json',
          JSON.stringify({ meta: { 'api-version': '1.1' }, projects: names.map((name) => ({ name })) }),
          vary,
        );
      const links = names.map((n) => `    <a href="${encodeURIComponent(n)}/">${escapeHtml(n)}</a><br/>`).join('\n');
      return send(
        res,
        200,
        'text/html; charset=utf-8',
        `<!DOCTYPE html>\n<html>\n  <head><meta name="pypi:repository-version" content="1.1"><title>Simple index</title></head>\n  <body>\n${links}\n  </body>\n</html>\n`,
        vary,
      );
    }
    const page = /^\/simple\/([^/]+)(\/?)$/.exec(decoded);
    if (page) {
      const want = normalizeName(page[1] ?? '');
      const files = projects.get(want);
      if (!files) return notFound(res);
      // PEP 503: a non-normalized name (or a missing slash) is redirected to the canonical URL.
      if (page[1] !== want || page[2] !== '/') return send(res, 301, 'text/plain', '', { location: `/simple/${want}/` });
      const [type, body] = json ? ['application/vnd.pypi.simple.v1+json', projectJson(want, files)] : ['text/html; charset=utf-8', projectHtml(want, files)];
      // Project pages carry an ETag (and max-age when asked), and answer a matching If-None-Match with 304, as PyPI does.
      const etag = `"${sha256(Buffer.from(body)).slice(0, 32)}"`;
      const caching: Record<string, string> = { ...vary, etag, ...(o.maxAge !== undefined ? { 'cache-control': `max-age=${o.maxAge}, public` } : {}) };
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, caching);
        return void res.end();
      }
      return send(res, 200, type, body, caching);
    }
    const file = /^\/files\/([^/]+)$/.exec(decoded)?.[1];
    if (file !== undefined) {
      const d = byFile.get(file);
      if (d) return serveFile(req, res, d);
      const md = file.endsWith('.metadata') ? byFile.get(file.slice(0, -'.metadata'.length)) : undefined;
      if (md?.metadata && o.metadata) return send(res, 200, 'application/octet-stream', req.method === 'HEAD' ? '' : md.metadata);
    }
    return notFound(res);
  };

  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/simple`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
