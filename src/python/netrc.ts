import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

interface NetrcEntry {
  login: string;
  password: string;
}

const byFile = new Map<string, { machines: Map<string, NetrcEntry>; fallback?: NetrcEntry }>();

/** Parses .netrc text: `machine HOST login USER password PASS`, and a `default` entry. */
export function parseNetrc(text: string): { machines: Map<string, NetrcEntry>; fallback?: NetrcEntry } {
  const tokens = text
    .replace(/#.*$/gm, '')
    .split(/\s+/)
    .filter((t) => t !== '');
  const machines = new Map<string, NetrcEntry>();
  let fallback: NetrcEntry | undefined;
  let current: { host?: string; entry: NetrcEntry } | undefined;
  const finish = () => {
    if (!current) return;
    if (current.host === undefined) fallback = current.entry;
    else if (!machines.has(current.host)) machines.set(current.host, current.entry);
  };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === 'machine' || t === 'default') {
      finish();
      current = t === 'machine' ? { host: tokens[++i] ?? '', entry: { login: '', password: '' } } : { entry: { login: '', password: '' } };
    } else if (current && (t === 'login' || t === 'password')) {
      current.entry[t] = tokens[++i] ?? '';
    } else if (t === 'macdef') {
      break; // macros run to the end of their paragraph; nothing after them is credentials pip reads
    }
  }
  finish();
  return fallback ? { machines, fallback } : { machines };
}

/**
 * Credentials for an index host from `$NETRC` or `~/.netrc`, as pip and uv read them, or
 * undefined. Each file is read once per process; a missing or unreadable file means none.
 */
export function netrcCredentials(host: string, env: NodeJS.ProcessEnv = process.env): NetrcEntry | undefined {
  const file = env.NETRC || join(homedir(), '.netrc');
  let parsed = byFile.get(file);
  if (!parsed) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      // no .netrc: no credentials from it
    }
    parsed = parseNetrc(text);
    byFile.set(file, parsed);
  }
  const hostname = host.replace(/:\d+$/, '');
  return parsed.machines.get(host) ?? parsed.machines.get(hostname) ?? parsed.fallback;
}
