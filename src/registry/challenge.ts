/**
 * What a registry asks for in `WWW-Authenticate`: nothing, Basic credentials, or a Bearer token
 * from a token service (distribution's "Token Authentication Specification").
 */
export type Challenge = { scheme: 'none' } | { scheme: 'basic'; realm?: string } | { scheme: 'bearer'; realm: string; service?: string; scope?: string };

/** Parses a `WWW-Authenticate` header; undefined when it names no scheme shale speaks. */
export function parseChallenge(headerValue: string | undefined): Challenge | undefined {
  if (!headerValue) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(headerValue);
  if (!m) return undefined;
  const scheme = (m[1] ?? '').toLowerCase();
  const params = parseParams(m[2] ?? '');
  if (scheme === 'basic') {
    const realm = params.get('realm');
    return realm === undefined ? { scheme: 'basic' } : { scheme: 'basic', realm };
  }
  if (scheme === 'bearer') {
    const realm = params.get('realm');
    if (!realm) return undefined;
    const c: Challenge = { scheme: 'bearer', realm };
    const service = params.get('service');
    const scope = params.get('scope');
    if (service !== undefined) c.service = service;
    if (scope !== undefined) c.scope = scope;
    return c;
  }
  return undefined;
}

/** `key="quoted, value",key2=token` → Map. Quoted values may hold commas and escaped quotes. */
function parseParams(s: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/g;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    const key = (m[1] ?? '').toLowerCase();
    const value = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
    if (!out.has(key)) out.set(key, value);
  }
  return out;
}

/** The token scope to read a repository. */
export const pullScope = (repository: string): string => `repository:${repository}:pull`;
/** The token scope to write a repository (push implies pull: the registry HEADs and mounts). */
export const pushScope = (repository: string): string => `repository:${repository}:pull,push`;
