import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { InputError } from '../errors.js';
import type { Credential } from './credentials.js';

/** One `auths` entry of config.json or auth.json. */
export interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

/** The credential parts of Docker's config.json, which containers' auth.json shares. */
export interface AuthFile {
  path: string;
  auths: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers: Record<string, string>;
}

/** A path for messages, with the home directory shortened to `~`. */
export function displayPath(p: string): string {
  const home = homedir();
  return home && p.startsWith(`${home}/`) ? `~${p.slice(home.length)}` : p;
}

/** Reads a config.json / auth.json; a missing file holds nothing. Bad JSON is bad input naming the file. */
export async function loadAuthFile(path: string, fix: string): Promise<AuthFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { path, auths: {}, credHelpers: {} };
    throw new InputError('SHALE_BAD_DOCKER_CONFIG', `cannot read ${displayPath(path)}: ${(err as Error).message}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new InputError('SHALE_BAD_DOCKER_CONFIG', `${displayPath(path)} is not valid JSON (${(err as Error).message}); fix it or ${fix}`, { cause: err });
  }
  const rec = objectOf(parsed);
  const auths: Record<string, AuthEntry> = {};
  for (const [k, v] of Object.entries(objectOf(rec['auths']))) auths[k] = objectOf(v) as AuthEntry;
  const file: AuthFile = { path, auths, credHelpers: {} };
  for (const [k, v] of Object.entries(objectOf(rec['credHelpers']))) if (typeof v === 'string' && v !== '') file.credHelpers[k] = v;
  if (typeof rec['credsStore'] === 'string' && rec['credsStore'] !== '') file.credsStore = rec['credsStore'];
  return file;
}

const objectOf = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

/** `https://index.docker.io/v1/` → `index.docker.io`, `quay.io/org/repo` → `quay.io`, as Docker's ConvertToHostname. */
export function normalizeKey(key: string): string {
  return key.replace(/^https?:\/\//, '').split('/')[0] ?? key;
}

/** The credential an `auths` entry holds (base64 `auth`, `username`/`password`, `identitytoken`). */
export function fromEntry(entry: AuthEntry, source: string): Credential | undefined {
  let username = entry.username;
  let password = entry.password;
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) {
      throw new InputError('SHALE_BAD_DOCKER_CONFIG', `${source}: "auth" is not base64 of "user:password"; run \`docker login\` again or fix the entry`);
    }
    username = decoded.slice(0, i);
    password = decoded.slice(i + 1);
  }
  // An identity token (ACR's `az acr login`, Docker's OAuth logins) is exchanged at the token realm.
  if (entry.identitytoken) return { username: username || '<token>', identityToken: entry.identitytoken, source };
  if (username === undefined || username === '') return undefined;
  return password === undefined ? { username, source } : { username, password, source };
}
