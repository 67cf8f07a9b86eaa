/**
 * Text files (locks, requirements, pyproject.toml) in the encodings people's tools write: UTF-8
 * with or without a BOM, and UTF-16 (PowerShell's `pip freeze > requirements.txt` writes UTF-16 LE
 * with a BOM; some editors drop the BOM). Line endings are kept as they are.
 */
import { readFile } from 'node:fs/promises';
import { InputError } from '../errors.js';

/**
 * Reads a text file and decodes it with {@link decodeText}. Read errors (ENOENT, EACCES) propagate
 * unchanged, so callers can say which file was missing in their own words.
 */
export async function readTextFile(file: string): Promise<string> {
  return decodeText(await readFile(file), file);
}

/**
 * Decodes a text file's bytes: a UTF-8 BOM is stripped, a UTF-16 BOM selects UTF-16 LE or BE,
 * and BOM-less UTF-16 is recognized by the NUL bytes ASCII text has in every other byte (UTF-8
 * text has no NUL bytes). Anything else must be UTF-8: an invalid byte is an InputError naming
 * `file`, the line and the byte offset, since a silently replaced character would end up in a
 * package name or a hash.
 */
export function decodeText(buf: Buffer, file: string): string {
  if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) return utf8(buf, 3, file);
  if (buf[0] === 0xff && buf[1] === 0xfe) return utf16(buf, 2, 'le', file);
  if (buf[0] === 0xfe && buf[1] === 0xff) return utf16(buf, 2, 'be', file);
  const bomless = utf16Pattern(buf);
  if (bomless) return utf16(buf, 0, bomless, file);
  return utf8(buf, 0, file);
}

/** How many leading bytes are sampled to recognize BOM-less UTF-16. */
const SAMPLE = 512;

/**
 * 'le' or 'be' when the start of `buf` looks like UTF-16 of mostly ASCII text: the first code
 * unit is an ASCII character, and at least 3/4 of the sampled code units have their high byte 0.
 */
function utf16Pattern(buf: Buffer): 'le' | 'be' | undefined {
  const n = Math.min(buf.length, SAMPLE) & ~1;
  if (n < 2) return undefined;
  const [b0 = 0, b1 = 0] = buf;
  const order = b0 !== 0 && b1 === 0 ? 'le' : b0 === 0 && b1 !== 0 ? 'be' : undefined;
  if (!order) return undefined;
  let high0 = 0;
  for (let i = 0; i < n; i += 2) {
    const hi = order === 'le' ? buf[i + 1] : buf[i];
    const lo = order === 'le' ? buf[i] : buf[i + 1];
    if (hi === 0 && lo !== 0) high0++;
  }
  return high0 * 4 >= (n / 2) * 3 ? order : undefined;
}

function utf16(buf: Buffer, start: number, order: 'le' | 'be', file: string): string {
  const body = Buffer.from(buf.subarray(start));
  if (body.length % 2 !== 0) {
    throw new InputError(
      'SHALE_TEXT_ENCODING',
      `${file} looks like UTF-16 (${order === 'le' ? 'little' : 'big'}-endian) but has an odd number of bytes, so it is cut short or not UTF-16; save it as UTF-8`,
    );
  }
  if (order === 'be') body.swap16();
  try {
    return new TextDecoder('utf-16le', { fatal: true }).decode(body);
  } catch (err) {
    throw new InputError(
      'SHALE_TEXT_ENCODING',
      `${file} looks like UTF-16 (${order === 'le' ? 'little' : 'big'}-endian) but holds an unpaired surrogate; save it as UTF-8`,
      { cause: err },
    );
  }
}

function utf8(buf: Buffer, start: number, file: string): string {
  const bad = firstInvalidUtf8(buf, start);
  if (bad >= 0) {
    const line = 1 + buf.subarray(0, bad).filter((b) => b === 0x0a).length;
    const hex = (buf[bad] ?? 0).toString(16).padStart(2, '0');
    throw new InputError(
      'SHALE_TEXT_ENCODING',
      `${file}:${line}: byte offset ${bad} (0x${hex}) is not valid UTF-8, so the file is in another encoding (often Windows-1252 or Latin-1); save it as UTF-8 (e.g. "Save with Encoding" → UTF-8 in your editor, or \`iconv -f cp1252 -t utf-8\`)`,
    );
  }
  return buf.toString('utf8', start);
}

/**
 * The offset of the first byte that does not belong to a well-formed UTF-8 sequence (RFC 3629:
 * no overlong forms, no surrogates, nothing above U+10FFFF), or -1.
 */
function firstInvalidUtf8(buf: Buffer, start: number): number {
  let i = start;
  while (i < buf.length) {
    const b = buf[i] ?? 0;
    if (b < 0x80) {
      i++;
      continue;
    }
    // The allowed range of the second byte narrows for E0, ED, F0 and F4 (RFC 3629 table).
    let len: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) len = 2;
    else if (b >= 0xe0 && b <= 0xef) {
      len = 3;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      len = 4;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k < len; k++) {
      const c = buf[i + k];
      if (c === undefined) return i;
      if (k === 1 ? c < lo || c > hi : c < 0x80 || c > 0xbf) return i;
    }
    i += len;
  }
  return -1;
}
