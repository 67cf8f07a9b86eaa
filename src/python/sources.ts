/**
 * Lists the files a package source offers for one project: a find-links directory, a
 * find-links HTML page, or a simple index (PEP 691 JSON, falling back to PEP 503 HTML).
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError, ShaleError } from '../errors.js';
import { defaultPackageHttp, redact, type HttpResponse, type PackageHttp } from './http.js';
import { conditionalHeaders, freshness, isFresh, type PageCache } from './page-cache.js';
import { parseHtmlLinks, parseJsonLinks, type Link } from './links.js';

/** A file offered by a source: a link, or a local file (find-links directories). */
export interface Candidate {
  filename: string;
  url?: string;
  path?: string;
  sha256?: string;
  /** Bytes of the file, when the source says (PEP 700). */
  size?: number;
  /** PEP 503 data-requires-python / PEP 691 "requires-python" (HTML entities decoded). */
  requiresPython?: string;
  /** PEP 592: present when the file is yanked; the reason, or '' when none is given. */
  yanked?: string;
  /** PEP 658/714: the index serves this file's core metadata at `${url}.metadata`; its sha256 when the index gives one. */
  metadata?: { sha256?: string };
  /** The source it came from, for messages ("find-links ./wheels"). */
  origin: string;
  /** Index URL whose credentials a download may use. */
  authFrom?: string;
}

/** Where to look for files, as pip's options say it. */
export interface PackageSources {
  /** Directories (relative to projectDir), file: URLs, or http(s) URLs of HTML pages of links. */
  findLinks: string[];
  indexUrl?: string | undefined;
  extraIndexUrls?: string[] | undefined;
  noIndex: boolean;
  projectDir: string;
  /** Page listings by URL, shared across lookups so a build reads each page once. */
  pages?: Map<string, Promise<Link[]>>;
  /** Keeps index pages between builds (page-cache.ts). */
  pageCache?: PageCache;
  /** Filled in as sources are read: how long what was listed stays valid (see {@link Freshness}). */
  freshness?: Freshness;
  /** The build's HTTP client for pages, metadata and downloads (its Ctrl-C signal, retries); default one without cancellation. */
  http?: PackageHttp;
}

/**
 * How long the listings read so far stay valid, so a resolution made from them can be reused:
 * until the first index page goes stale (its Cache-Control), and while no find-links directory
 * changed (its mtime moves when a file is added or removed).
 */
export interface Freshness {
  /** ms since 1970; 0 when something read cannot be trusted later without asking again. */
  until: number;
  /** find-links directories read → their mtime then. */
  dirs: Map<string, number>;
}

const isHttp = (s: string): boolean => /^https?:\/\//i.test(s);

/** The source descriptions for messages, in lookup order. */
export function describeSources(s: PackageSources): string[] {
  const out = s.findLinks.map((f) => `find-links ${isHttp(f) ? redact(f) : f}`);
  if (!s.noIndex) for (const u of indexUrls(s)) out.push(`index ${redact(u)}`);
  return out;
}

function indexUrls(s: PackageSources): string[] {
  return [...(s.indexUrl ? [s.indexUrl] : []), ...(s.extraIndexUrls ?? [])];
}

async function listDirectory(entry: string, projectDir: string, freshness: Freshness | undefined): Promise<Candidate[]> {
  const dir = entry.startsWith('file:') ? fileURLToPath(entry) : isAbsolute(entry) ? entry : resolve(projectDir, entry);
  let st;
  try {
    st = await stat(dir);
  } catch {
    throw new InputError(
      'SHALE_FIND_LINKS_MISSING',
      `find-links entry "${entry}" does not exist (looked at ${dir}); fix find-links in [tool.shale] or the requirements file`,
    );
  }
  const origin = `find-links ${entry}`;
  freshness?.dirs.set(dir, st.mtimeMs);
  if (st.isFile()) return [{ filename: basename(dir), path: dir, origin }];
  const names = (await readdir(dir)).sort();
  return names.map((filename) => ({ filename, path: join(dir, filename), origin }));
}

function memo(s: PackageSources, url: string, load: () => Promise<Link[]>): Promise<Link[]> {
  if (!s.pages) return load();
  let p = s.pages.get(url);
  if (!p) {
    p = load();
    s.pages.set(url, p);
    p.catch(() => s.pages?.delete(url));
  }
  return p;
}

async function listFindLinksPage(url: string, http: PackageHttp): Promise<Link[]> {
  const res = await http.get(url, 'text/html, */*;q=0.1');
  if (!res.ok) {
    await res.cancel();
    throw new ShaleError('SHALE_INDEX', `find-links page ${redact(url)} answered HTTP ${res.status} ${res.statusText}; check find-links`);
  }
  return parseHtmlLinks(await res.text(), res.url || url);
}

const ACCEPT_SIMPLE = 'application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1';

/**
 * A project's page of a simple index: JSON if the server speaks PEP 691, else HTML. 404 means
 * no files. With a page cache, a page kept fresh (Cache-Control) is not asked for again, and
 * a kept page is revalidated (ETag / Last-Modified; a 304 has no body).
 */
async function listIndexPage(pageUrl: string, http: PackageHttp, cache: PageCache | undefined, fresh: Freshness | undefined): Promise<Link[]> {
  const until = (t: number): void => {
    if (fresh) fresh.until = Math.min(fresh.until, t);
  };
  const cached = await cache?.get(pageUrl);
  if (cached && isFresh(cached)) {
    until(cached.checkedAt + cached.maxAgeMs);
    return cached.links;
  }
  const res = await http.get(pageUrl, ACCEPT_SIMPLE, undefined, conditionalHeaders(cached));
  until(Date.now() + freshness(res));
  if (res.status === 304 && cached && cache) {
    await res.cancel();
    await cache.confirm(cached, res);
    return cached.links;
  }
  const links = await readIndexPage(res, pageUrl);
  if (cache && res.ok) await cache.put(pageUrl, links, res);
  return links;
}

async function readIndexPage(res: HttpResponse, pageUrl: string): Promise<Link[]> {
  if (res.status === 404) {
    await res.cancel();
    return [];
  }
  if (!res.ok) {
    await res.cancel();
    throw new ShaleError('SHALE_INDEX', `index page ${redact(pageUrl)} answered HTTP ${res.status} ${res.statusText}; check index-url and its credentials`);
  }
  const type = (res.headers.get('content-type') ?? '').toLowerCase();
  const finalUrl = res.url || pageUrl;
  if (type.includes('json')) {
    try {
      return parseJsonLinks(await res.json(), finalUrl);
    } catch (err) {
      throw new ShaleError('SHALE_INDEX', `index page ${redact(pageUrl)} is not valid PEP 691 JSON: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    }
  }
  return parseHtmlLinks(await res.text(), finalUrl);
}

/** The URL of a project's page on a simple index (`{index}/{normalized-name}/`). */
export function projectPageUrl(indexUrl: string, normalizedName: string): string {
  return `${indexUrl.replace(/\/+$/, '')}/${normalizedName}/`;
}

/**
 * Every file all sources offer for a project, find-links first, then the indexes. Page links
 * keep what their page said of them (hash, size, requires-python, yanked, core metadata).
 */
export async function listCandidates(project: string, s: PackageSources): Promise<Candidate[]> {
  const http = s.http ?? defaultPackageHttp();
  const lists = await Promise.all([
    ...s.findLinks.map(async (f): Promise<Candidate[]> => {
      if (!isHttp(f)) return listDirectory(f, s.projectDir, s.freshness);
      if (s.freshness) s.freshness.until = 0; // find-links pages are not kept: asked again every time
      const links = await memo(s, f, () => listFindLinksPage(f, http));
      return links.map((l) => ({ ...l, origin: `find-links ${redact(f)}` }));
    }),
    ...(s.noIndex ? [] : indexUrls(s)).map(async (idx): Promise<Candidate[]> => {
      const page = projectPageUrl(idx, project);
      const links = await memo(s, page, () => listIndexPage(page, http, s.pageCache, s.freshness));
      return links.map((l) => ({ ...l, origin: `index ${redact(idx)}`, authFrom: idx }));
    }),
  ]);
  return lists.flat();
}
