/**
 * RECORD files of installed distributions (packaging.python.org, "Recording installed
 * projects"): CSV rows of path, `algo=urlsafe-base64-digest` (no padding), size.
 */
import { createHash } from 'node:crypto';

/** One RECORD row. `hash` and `size` are empty for RECORD itself. */
export interface RecordRow {
  path: string;
  hash: string;
  size: string;
}

/** The RECORD hash of bytes: "sha256=" + urlsafe base64 without padding. */
export function recordHash(data: Uint8Array | string): string {
  return `sha256=${createHash('sha256').update(data).digest('base64url')}`;
}

/** A hex sha256 digest in RECORD form. */
export function recordHashFromHex(hex: string): string {
  return `sha256=${Buffer.from(hex, 'hex').toString('base64url')}`;
}

/** Parses RECORD (CSV as Python's csv module writes it: quoted fields may hold commas and quotes). */
export function parseRecord(text: string): RecordRow[] {
  const rows: RecordRow[] = [];
  let field = '';
  let fields: string[] = [];
  let quoted = false;
  const endRow = (): void => {
    fields.push(field);
    field = '';
    if (fields.length > 1 || fields[0] !== '') rows.push({ path: fields[0] ?? '', hash: fields[1] ?? '', size: fields[2] ?? '' });
    fields = [];
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      fields.push(field);
      field = '';
    } else if (ch === '\n') endRow();
    else if (ch !== '\r') field += ch;
  }
  if (field !== '' || fields.length) endRow();
  return rows;
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Writes RECORD rows, sorted by path so the same install gives the same bytes. */
export function formatRecord(rows: readonly RecordRow[]): string {
  return [...rows]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((r) => `${csvField(r.path)},${csvField(r.hash)},${csvField(r.size)}\n`)
    .join('');
}
