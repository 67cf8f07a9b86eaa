/**
 * File links of package pages: PEP 503 HTML ("simple" index pages and pip's find-links pages)
 * and PEP 691 JSON. A link carries the file name and, when the page gives them, its sha256 and
 * size, the Python versions it supports (PEP 503/691), whether it is yanked (PEP 592) and
 * whether the index serves its core metadata separately (PEP 658/714), so a resolver can skip
 * files and read dependencies without downloading wheels.
 */

/** One downloadable file named by a page. */
export interface Link {
  filename: string;
  /** Absolute URL, fragment removed. */
  url: string;
  /** Lower-case hex, from `#sha256=` or the JSON `hashes`. */
  sha256?: string;
  /** Bytes of the file, when the page says (PEP 700 `size` in PEP 691 JSON). */
  size?: number;
  /** PEP 503 data-requires-python / PEP 691 "requires-python" (HTML entities decoded). */
  requiresPython?: string;
  /** PEP 592: present when the file is yanked; the reason, or '' when none is given. */
  yanked?: string;
  /** PEP 658/714: the index serves this file's core metadata at `${url}.metadata`; its sha256 when the index gives one. */
  metadata?: { sha256?: string };
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'" };

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (all, e: string) => {
    if (e.startsWith('#x') || e.startsWith('#X')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#') && /^#\d+$/.test(e)) return e === '#39' ? "'" : String.fromCodePoint(Number(e.slice(1)));
    return ENTITIES[e.toLowerCase()] ?? all;
  });
}

/** Builds a Link from a (possibly relative) href, taking the file name from the URL path. */
export function linkFromHref(href: string, baseUrl: string, sha256?: string): Link | undefined {
  let u: URL;
  try {
    u = new URL(href, baseUrl);
  } catch {
    return undefined;
  }
  const frag = /(?:^|&)sha256=([0-9a-fA-F]{64})(?:&|$)/.exec(u.hash.slice(1));
  u.hash = '';
  const last = u.pathname.split('/').pop() ?? '';
  let filename: string;
  try {
    filename = decodeURIComponent(last);
  } catch {
    filename = last;
  }
  if (!filename) return undefined;
  const link: Link = { filename, url: u.toString() };
  const hex = sha256 ?? frag?.[1];
  if (hex) link.sha256 = hex.toLowerCase();
  return link;
}

/** `<a ...>` tags; quoted attribute values may hold a raw `>` (`data-requires-python=">=3.8"`). */
const A_TAG_RE = /<a\s((?:[^>"']|"[^"]*"|'[^']*')*)>/gi;
/** One attribute: a name, optionally `=` and a quoted or bare value (HTML's attribute syntax). */
const ATTR_RE = /([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;

/** A tag's attributes, names lower-cased, values entity-decoded; `undefined` for a bare attribute. */
function attributes(s: string): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  for (const m of s.matchAll(ATTR_RE)) {
    const name = (m[1] ?? '').toLowerCase();
    if (out.has(name)) continue; // HTML: the first occurrence wins
    const raw = m[2] ?? m[3] ?? m[4];
    out.set(name, raw === undefined ? undefined : decodeEntities(raw));
  }
  return out;
}

const SHA256_RE = /^[0-9a-fA-F]{64}$/;

/**
 * PEP 658 `data-core-metadata` (or PEP 714's older spelling `data-dist-info-metadata`): "true",
 * or `<hashname>=<hex>`. Any value other than "false" means the metadata file exists; only a
 * sha256 is kept, since that is what shale verifies.
 */
function htmlMetadata(attrs: Map<string, string | undefined>): Link['metadata'] {
  // PEP 714: the new name first; the old one only when the new one is absent.
  const key = attrs.has('data-core-metadata') ? 'data-core-metadata' : attrs.has('data-dist-info-metadata') ? 'data-dist-info-metadata' : undefined;
  if (key === undefined) return undefined;
  const value = (attrs.get(key) ?? '').trim();
  if (value.toLowerCase() === 'false') return undefined;
  const eq = value.indexOf('=');
  const hex = eq > 0 && value.slice(0, eq).toLowerCase() === 'sha256' ? value.slice(eq + 1) : '';
  return SHA256_RE.test(hex) ? { sha256: hex.toLowerCase() } : {};
}

/** Sets the optional PEP 503/592/658 fields that are present (exactOptionalPropertyTypes: never `undefined`). */
function addDetails(link: Link, requiresPython: string | undefined, yanked: string | undefined, metadata: Link['metadata']): void {
  const rp = requiresPython?.trim();
  if (rp) link.requiresPython = rp;
  if (yanked !== undefined) link.yanked = yanked;
  if (metadata !== undefined) link.metadata = metadata;
}

/**
 * The links of an HTML page (`<a href=...>`), resolved against the page URL (or its `<base href>`),
 * with the PEP 503 `data-requires-python`, PEP 592 `data-yanked` (present = yanked, the value is
 * the reason) and PEP 658/714 `data-core-metadata` / `data-dist-info-metadata` attributes.
 */
export function parseHtmlLinks(html: string, pageUrl: string): Link[] {
  const base = /<base\s[^>]*href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/i.exec(html);
  const baseHref = base ? decodeEntities(base[1] ?? base[2] ?? base[3] ?? '') : '';
  const baseUrl = baseHref ? new URL(baseHref, pageUrl).toString() : pageUrl;
  const out: Link[] = [];
  for (const m of html.matchAll(A_TAG_RE)) {
    const attrs = attributes(m[1] ?? '');
    const href = attrs.get('href');
    const link = href ? linkFromHref(href, baseUrl) : undefined;
    if (!link) continue;
    addDetails(link, attrs.get('data-requires-python'), attrs.has('data-yanked') ? (attrs.get('data-yanked') ?? '') : undefined, htmlMetadata(attrs));
    out.push(link);
  }
  return out;
}

/** PEP 691 `core-metadata` / `dist-info-metadata`: false, true, or a dict of hashes. */
function jsonMetadata(rec: Record<string, unknown>): Link['metadata'] {
  // PEP 714: `core-metadata` when the key is there (even false), else the older key.
  const v = 'core-metadata' in rec ? rec['core-metadata'] : rec['dist-info-metadata'];
  if (v === true) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const sha = (v as Record<string, unknown>).sha256;
  return typeof sha === 'string' && SHA256_RE.test(sha) ? { sha256: sha.toLowerCase() } : {};
}

/** PEP 691 `yanked`: false, true, or a (non-empty) reason string, which also means yanked. */
function jsonYanked(v: unknown): string | undefined {
  if (v === true) return '';
  return typeof v === 'string' ? v : undefined;
}

/**
 * The file links of a PEP 691 JSON project page (`{"files": [{"filename", "url", "hashes", "size"?,
 * "requires-python"?, "yanked"?, "core-metadata"? / "dist-info-metadata"?}]}`).
 */
export function parseJsonLinks(body: unknown, pageUrl: string): Link[] {
  const files = typeof body === 'object' && body !== null && 'files' in body ? (body as { files: unknown }).files : undefined;
  if (!Array.isArray(files)) throw new Error('not a PEP 691 project page: no "files" list');
  const out: Link[] = [];
  for (const f of files as unknown[]) {
    if (typeof f !== 'object' || f === null) continue;
    const rec = f as Record<string, unknown>;
    if (typeof rec.url !== 'string') continue;
    const hashes = rec.hashes;
    const sha =
      typeof hashes === 'object' && hashes !== null && typeof (hashes as Record<string, unknown>).sha256 === 'string'
        ? ((hashes as Record<string, unknown>).sha256 as string)
        : undefined;
    const link = linkFromHref(rec.url, pageUrl, sha);
    if (!link) continue;
    if (typeof rec.filename === 'string' && rec.filename) link.filename = rec.filename;
    if (typeof rec.size === 'number' && Number.isSafeInteger(rec.size) && rec.size >= 0) link.size = rec.size;
    const rp = rec['requires-python'];
    addDetails(link, typeof rp === 'string' ? rp : undefined, jsonYanked(rec.yanked), jsonMetadata(rec));
    out.push(link);
  }
  return out;
}
