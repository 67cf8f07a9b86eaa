/**
 * Writes a starter config as TOML the way people keep it: every plain key first (env and labels
 * as inline tables), TODO comments, then `[[...layers]]` tables last, so a key appended to the
 * section later never lands inside a table.
 */

const key = (k: string): string => (/^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k));

/** A TOML value: strings as basic strings (JSON's escapes are TOML's), arrays and inline tables. */
export function tomlValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(tomlValue).join(', ')}]`;
  if (typeof v === 'object' && v !== null) {
    const entries = Object.entries(v);
    return entries.length ? `{ ${entries.map(([k, x]) => `${key(k)} = ${tomlValue(x)}`).join(', ')} }` : '{}';
  }
  throw new Error(`cannot write ${String(v)} as TOML`);
}

/** The section's text: `[table]` header (none for shale.toml), keys, TODO comments, then layers. */
export function formatSection(table: string | undefined, config: Record<string, unknown>, todos: readonly string[] = []): string {
  const lines: string[] = table ? [`[${table}]`] : [];
  const { layers, ...plain } = config;
  for (const [k, v] of Object.entries(plain)) if (v !== undefined) lines.push(`${key(k)} = ${tomlValue(v)}`);
  for (const t of todos) lines.push(`# TODO: ${t}`);
  for (const l of Array.isArray(layers) ? (layers as Record<string, unknown>[]) : []) {
    lines.push('', `[[${table ? `${table}.` : ''}layers]]`);
    for (const [k, v] of Object.entries(l)) lines.push(`${key(k)} = ${tomlValue(v)}`);
  }
  return `${lines.join('\n')}\n`;
}
