/**
 * Debian control data (deb822, Debian Policy 5.1): paragraphs of `Field: value` lines separated
 * by blank lines, continuation lines starting with a space or tab. The one parser behind dpkg's
 * status, the archive's Packages and Release files, a .deb's control file and deb822 `.sources`.
 */

/** One paragraph: field names as written (their case kept), values with continuation lines joined by "\n". */
export type Stanza = Map<string, string>;

/** Looks a field up case-insensitively (field names are not case-sensitive in deb822). */
export function field(s: Stanza, name: string): string | undefined {
  const v = s.get(name);
  if (v !== undefined) return v;
  const lower = name.toLowerCase();
  for (const [k, val] of s) if (k.toLowerCase() === lower) return val;
  return undefined;
}

/**
 * Parses every paragraph of `text`. `#` comment lines are skipped (allowed in `.sources` files, never
 * present in the archive's files). A line that is neither a field nor a continuation is an error
 * naming `what` and the line number.
 */
export function parseStanzas(text: string, what: string): Stanza[] {
  const out: Stanza[] = [];
  let cur: Stanza | undefined;
  let last: string | undefined;
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.replace(/\r$/, '');
    if (line.trim() === '') {
      if (cur) out.push(cur);
      cur = undefined;
      last = undefined;
      continue;
    }
    if (line.startsWith('#')) continue;
    if (line[0] === ' ' || line[0] === '\t') {
      if (!cur || last === undefined) throw new Error(`${what}, line ${n + 1}: a continuation line with no field before it`);
      cur.set(last, `${cur.get(last)!}\n${line.slice(1)}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`${what}, line ${n + 1}: expected "Field: value", got "${line.slice(0, 80)}"`);
    cur ??= new Map();
    last = line.slice(0, colon);
    cur.set(last, line.slice(colon + 1).trim());
  }
  if (cur) out.push(cur);
  return out;
}

/** Writes a paragraph back in deb822 form (fields in their order; continuation lines indented; "." for empty ones). */
export function formatStanza(s: Stanza): string {
  let out = '';
  for (const [k, v] of s) {
    const [first, ...rest] = v.split('\n');
    out += `${k}:${first ? ` ${first}` : ''}\n`;
    for (const r of rest) out += ` ${r === '' ? '.' : r}\n`;
  }
  return out;
}
