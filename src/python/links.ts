/**
 * File links of package pages: PEP 503 HTML ("simple" index pages and pip's find-links pages)
 * and PEP 691 JSON. A link carries the file name and, when the page gives it, its sha256.
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

/** The links of an HTML page (`<a href=...>`), resolved against the page URL (or its `<base href>`). */
export function parseHtmlLinks(html: string, pageUrl: string): Link[] {
  const base = /<base\s[^>]*href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/i.exec(html);
  const baseHref = base ? decodeEntities(base[1] ?? base[2] ?? base[3] ?? '') : '';
  const baseUrl = baseHref ? new URL(baseHref, pageUrl).toString() : pageUrl;
  const out: Link[] = [];
  const re = /<a\s[^>]*?href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))[^>]*>/gi;
  for (let m = re.exec(html); m; m = re.exec(html)) {
    const href = decodeEntities(m[1] ?? m[2] ?? m[3] ?? '');
    const link = href ? linkFromHref(href, baseUrl) : undefined;
    if (link) out.push(link);
  }
  return out;
}

/** The file links of a PEP 691 JSON project page (`{"files": [{"filename", "url", "hashes", "size"?}]}`). */
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
    out.push(link);
  }
  return out;
}
