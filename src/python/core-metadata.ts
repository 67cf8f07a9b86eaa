/**
 * Core metadata (the METADATA file of a wheel's .dist-info, an sdist's PKG-INFO, a PEP 658
 * `.metadata` file): the few fields a resolver needs. The format is RFC 822 headers (Core
 * metadata specifications, versions 1.0–2.4): `Name: value` lines, continuation lines starting
 * with whitespace, multiple-use fields repeated, and from 2.1 on the description as a body after
 * a blank line, which is not read here.
 */
import { InputError } from '../errors.js';

/** What a resolver needs from a distribution's core metadata. */
export interface CoreMetadata {
  name: string;
  version: string;
  /** `Requires-Dist` values as written (PEP 508 requirements with markers); the caller parses them. */
  requiresDist: string[];
  /** `Requires-Python`, when given and not empty. */
  requiresPython?: string;
  /** `Provides-Extra` values as written. */
  providesExtra: string[];
}

/** The highest major metadata version understood: the spec says a tool MUST fail on a greater one. */
const MAX_MAJOR = 2;
/** An RFC 822 field line: printable ASCII other than `:` for the name, as Python's email parser reads it. */
const FIELD_RE = /^([\x21-\x39\x3b-\x7e]+):(.*)$/;

function bad(where: string, why: string): InputError {
  return new InputError(
    'SHALE_BAD_METADATA',
    `the core metadata of ${where} ${why}, so its dependencies cannot be read. The distribution is damaged or was built by a broken tool; use another version or rebuild it`,
  );
}

/**
 * The header fields, in order, names lower-cased. A continuation line (leading space or tab)
 * extends the previous field (RFC 822 §3.1.1 folding); the headers end at the first empty line,
 * or, as Python's email parser has it (and so pip and importlib.metadata), at the first line that
 * is neither a field nor a continuation.
 */
function headerFields(text: string, where: string): [string, string][] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  const fields: [string, string][] = [];
  for (const line of lines) {
    // Only an empty line ends the headers: one of blanks continues a field (a folded License text).
    if (line === '') break;
    if (line[0] === ' ' || line[0] === '\t') {
      const last = fields[fields.length - 1];
      if (!last) throw bad(where, `starts with an indented line ("${line.trim().slice(0, 60)}") where a field name is expected`);
      last[1] += `\n${line}`;
      continue;
    }
    const m = FIELD_RE.exec(line);
    if (!m) break;
    fields.push([(m[1] ?? '').toLowerCase(), m[2] ?? '']);
  }
  return fields;
}

/** A field value with its folding undone and outer whitespace removed ("a,\n  b" → "a, b"). */
const unfold = (v: string): string => v.replace(/\s*\n\s*/g, ' ').trim();

/**
 * Parses METADATA / PKG-INFO text. `where` names the file for messages ("demo-1.0-py3-none-any.whl
 * (demo-1.0.dist-info/METADATA)"). Name and Version are required (every metadata version has
 * them); a Metadata-Version whose major part is above 2 is refused, as the spec requires, since
 * its fields may mean something else. Malformed metadata is an InputError 'SHALE_BAD_METADATA'.
 */
export function parseCoreMetadata(text: string, where: string): CoreMetadata {
  const fields = headerFields(text, where);
  if (fields.length === 0) throw bad(where, 'has no header fields');
  const single = (field: string): string | undefined => {
    const name = field.toLowerCase();
    const values = fields.filter(([k]) => k === name).map(([, v]) => unfold(v));
    const distinct = [...new Set(values)];
    if (distinct.length > 1) throw bad(where, `gives ${field} more than once (${distinct.map((d) => `"${d}"`).join(', ')})`);
    return distinct[0];
  };
  const multi = (field: string): string[] =>
    fields
      .filter(([k]) => k === field.toLowerCase())
      .map(([, v]) => unfold(v))
      .filter((v) => v !== '');

  const mv = single('Metadata-Version');
  if (mv !== undefined) {
    const m = /^(\d+)\.(\d+)$/.exec(mv);
    if (!m) throw bad(where, `has Metadata-Version "${mv}", which is not a version like 2.1`);
    if (Number(m[1]) > MAX_MAJOR) throw bad(where, `has Metadata-Version ${mv}; shale reads metadata versions 1.0 to 2.x`);
  }
  const name = single('Name');
  if (!name) throw bad(where, 'has no Name field');
  const version = single('Version');
  if (!version) throw bad(where, 'has no Version field');
  const out: CoreMetadata = { name, version, requiresDist: multi('Requires-Dist'), providesExtra: multi('Provides-Extra') };
  const rp = single('Requires-Python');
  if (rp) out.requiresPython = rp;
  return out;
}
