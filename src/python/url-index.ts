/**
 * A small sidecar of the wheel cache: for each downloaded URL, the file it gave (name, sha256,
 * size) and the response's validators. It lets a later build name a wheel whose link carries no
 * hash without downloading it again: a HEAD answering the same ETag/Last-Modified and length
 * means the URL still serves that file. Records live at `<cache>/wheels/urls/<key>.json`,
 * written to a temporary name and renamed, so a second process never reads half a record.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { splitCredentials, type HttpResponse } from './http.js';

/** What one download of `url` gave. */
export interface UrlRecord {
  /** The URL without credentials. */
  url: string;
  filename: string;
  /** Hex. */
  sha256: string;
  size: number;
  etag?: string;
  lastModified?: string;
}

const optString = (v: unknown): v is string | undefined => v === undefined || typeof v === 'string';

/** The URL records of one cache directory (`root/wheels/urls`). */
export class UrlIndex {
  private readonly dir: string;

  constructor(root: string) {
    this.dir = join(root, 'wheels', 'urls');
  }

  private recordPath(url: string): { path: string; plain: string } {
    const plain = splitCredentials(url).url;
    const key = createHash('sha256').update(plain).digest('hex');
    return { path: join(this.dir, `${key}.json`), plain };
  }

  /** The record for `url`, or undefined when there is none or it is unreadable. */
  async get(url: string): Promise<UrlRecord | undefined> {
    const { path, plain } = this.recordPath(url);
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(path, 'utf8'));
    } catch {
      return undefined;
    }
    if (typeof raw !== 'object' || raw === null) return undefined;
    const r = raw as Record<string, unknown>;
    if (r.url !== plain || typeof r.filename !== 'string' || typeof r.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(r.sha256)) return undefined;
    if (typeof r.size !== 'number' || !Number.isSafeInteger(r.size) || r.size < 0 || !optString(r.etag) || !optString(r.lastModified)) return undefined;
    const out: UrlRecord = { url: plain, filename: r.filename, sha256: r.sha256, size: r.size };
    if (r.etag !== undefined) out.etag = r.etag;
    if (r.lastModified !== undefined) out.lastModified = r.lastModified;
    return out;
  }

  /** Records what a download of `url` gave (atomically; a failure to write is not an error). */
  async set(url: string, rec: Omit<UrlRecord, 'url'>): Promise<void> {
    const { path, plain } = this.recordPath(url);
    const tmp = join(this.dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      await mkdir(this.dir, { recursive: true });
      await writeFile(tmp, JSON.stringify({ ...rec, url: plain }));
      await rename(tmp, path);
    } catch {
      await rm(tmp, { force: true });
    }
  }

  /** Records a download's result (file, hash, size and the response's validators) for `url`. */
  async remember(
    url: string,
    filename: string,
    got: { sha256: string; size: number; etag?: string | undefined; lastModified?: string | undefined },
  ): Promise<void> {
    const rec: Omit<UrlRecord, 'url'> = { filename, sha256: got.sha256, size: got.size };
    if (got.etag !== undefined) rec.etag = got.etag;
    if (got.lastModified !== undefined) rec.lastModified = got.lastModified;
    await this.set(url, rec);
  }
}

/**
 * Whether a HEAD response shows the URL still serves the recorded file: the same length and
 * the same validators, with at least one validator to compare (a length alone proves nothing).
 */
export function stillServes(rec: UrlRecord, head: HttpResponse): boolean {
  if (!head.ok) return false;
  const etag = head.headers.get('etag') ?? undefined;
  const lastModified = head.headers.get('last-modified') ?? undefined;
  if (rec.etag === undefined && rec.lastModified === undefined) return false;
  if (etag !== rec.etag || lastModified !== rec.lastModified) return false;
  return contentLength(head) === rec.size;
}

/** A response's body length from `Content-Length`, when it is plain bytes (no content-encoding). */
export function contentLength(res: HttpResponse): number | undefined {
  const enc = (res.headers.get('content-encoding') ?? 'identity').toLowerCase();
  if (enc !== 'identity') return undefined;
  const raw = res.headers.get('content-length');
  if (raw === null || !/^\d+$/.test(raw.trim())) return undefined;
  const n = Number(raw.trim());
  return Number.isSafeInteger(n) ? n : undefined;
}
