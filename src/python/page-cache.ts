/**
 * Index pages kept between builds, as pip's and uv's HTTP caches keep them:
 * `<cache>/index-pages/<sha256 of the URL>.json` holds a project page's links with its
 * validators (ETag, Last-Modified) and freshness (Cache-Control max-age, RFC 9111). A fresh page
 * is used without asking (PyPI says max-age=600); a stale one is revalidated with a conditional
 * GET, and a 304 costs no body. Written atomically; an unreadable record is a miss.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../store/atomic-file.js';
import type { HttpResponse } from './http.js';
import type { Link } from './links.js';

/** What is kept of one page. */
export interface CachedPage {
  url: string;
  links: Link[];
  etag?: string;
  lastModified?: string;
  /** When the page was last confirmed (ms since 1970), and for how long it stays fresh (ms). */
  checkedAt: number;
  maxAgeMs: number;
}

/** Whether a cached page may be used without asking the server. */
export function isFresh(page: CachedPage, now = Date.now()): boolean {
  return now - page.checkedAt < page.maxAgeMs && now >= page.checkedAt;
}

/** The request headers that revalidate a cached page. */
export function conditionalHeaders(page: CachedPage | undefined): Record<string, string> {
  const h: Record<string, string> = {};
  if (page?.etag) h['if-none-match'] = page.etag;
  if (page?.lastModified) h['if-modified-since'] = page.lastModified;
  return h;
}

/** How long a response stays fresh: Cache-Control max-age minus Age; 0 with no-cache / no-store. */
export function freshness(res: HttpResponse): number {
  const cc = (res.headers.get('cache-control') ?? '').toLowerCase();
  if (/(^|,)\s*(no-cache|no-store)\b/.test(cc)) return 0;
  const m = /(?:^|,)\s*max-age\s*=\s*(\d+)/.exec(cc);
  if (!m) return 0;
  const age = Number(res.headers.get('age') ?? 0) || 0;
  return Math.max(0, Number(m[1]) - age) * 1000;
}

/** The index pages of one cache directory (`root/index-pages`). */
export class PageCache {
  private readonly dir: string;

  constructor(root: string) {
    this.dir = join(root, 'index-pages');
  }

  private path(url: string): string {
    return join(this.dir, `${createHash('sha256').update(url).digest('hex')}.json`);
  }

  /** The cached page for a URL, or undefined (none, or unreadable). */
  async get(url: string): Promise<CachedPage | undefined> {
    try {
      const page = JSON.parse(await readFile(this.path(url), 'utf8')) as CachedPage;
      return page.url === url && Array.isArray(page.links) && typeof page.checkedAt === 'number' ? page : undefined;
    } catch {
      return undefined;
    }
  }

  /** Keeps a page with what the response says about it; a page nothing can revalidate or keep fresh is not kept. */
  async put(url: string, links: Link[], res: HttpResponse, now = Date.now()): Promise<void> {
    const page: CachedPage = { url, links, checkedAt: now, maxAgeMs: freshness(res) };
    const etag = res.headers.get('etag');
    const lastModified = res.headers.get('last-modified');
    if (etag) page.etag = etag;
    if (lastModified) page.lastModified = lastModified;
    if (!page.etag && !page.lastModified && page.maxAgeMs === 0) return;
    await this.save(page);
  }

  /** Records that a cached page was confirmed (a 304) now, with the new freshness. */
  async confirm(page: CachedPage, res: HttpResponse, now = Date.now()): Promise<void> {
    await this.save({ ...page, checkedAt: now, maxAgeMs: freshness(res) });
  }

  private async save(page: CachedPage): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true });
      await writeFileAtomic(this.path(page.url), JSON.stringify(page));
    } catch {
      // The cache only saves requests.
    }
  }
}
