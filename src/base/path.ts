/** The PATH a container of an image searches for a program. */
import { posix } from 'node:path';

/** The PATH a runtime uses when the config sets none (Docker's and podman's default). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The directories of the config Env's PATH (else the default), in order: absolute ones only, normalized, once each. */
export function pathDirs(env: readonly string[] | null | undefined): string[] {
  const path = (env ?? []).find((kv) => kv.startsWith('PATH='))?.slice('PATH='.length) ?? DEFAULT_PATH;
  const dirs = path
    .split(':')
    .filter((d) => d.startsWith('/'))
    .map((d) => posix.normalize(d).replace(/(.)\/$/, '$1'));
  return [...new Set(dirs)];
}
