import { execFile } from 'node:child_process';
import { ShaleError } from '../errors.js';
import type { Credential } from './credentials.js';

/** What Docker's helpers print when they hold nothing for a server (docker-credential-helpers' ErrCredentialsNotFound). */
const NOT_FOUND = /credentials not found/i;

/**
 * Asks a credential helper for a server's credentials (the docker-credential-helpers protocol:
 * `docker-credential-NAME get`, the server URL on stdin, `{"Username","Secret"}` on stdout).
 * Undefined when the helper has none; throws, naming the helper but never a secret, when it
 * is missing or fails. `from` says where it was configured, for messages.
 */
export function runCredentialHelper(name: string, serverUrl: string, from: string): Promise<Credential | undefined> {
  const program = `docker-credential-${name}`;
  const source = `credential helper ${program}`;
  return new Promise((resolve, reject) => {
    const child = execFile(program, ['get'], { timeout: 30_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const said = `${stdout}\n${stderr}`;
        if (NOT_FOUND.test(said)) return resolve(undefined);
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          return reject(
            new ShaleError('SHALE_CREDENTIAL_HELPER', `${program} (${from}) is not installed or not on PATH; install it, or remove it from that file`),
          );
        }
        // Only stderr goes into the message: stdout is where a helper puts secrets.
        const detail = stderr.trim().split('\n')[0]?.slice(0, 200) ?? '';
        const how = err.killed ? 'timed out' : `failed (exit ${String(err.code)})`;
        return reject(
          new ShaleError('SHALE_CREDENTIAL_HELPER', `${source} (${from}) ${how} getting credentials for ${serverUrl}${detail ? `: ${detail}` : ''}`),
        );
      }
      let out: { Username?: unknown; Secret?: unknown };
      try {
        out = JSON.parse(stdout) as { Username?: unknown; Secret?: unknown };
      } catch {
        return reject(new ShaleError('SHALE_CREDENTIAL_HELPER', `${source} (${from}) answered something that is not JSON for ${serverUrl}`));
      }
      const username = typeof out.Username === 'string' ? out.Username : '';
      const secret = typeof out.Secret === 'string' ? out.Secret : '';
      if (!secret) return resolve(undefined);
      // Docker's convention: a helper answering the user "<token>" holds an identity (refresh) token.
      resolve(username === '<token>' ? { username, identityToken: secret, source } : { username, password: secret, source });
    });
    child.stdin?.on('error', () => {
      // the helper may exit without reading; its exit status tells
    });
    child.stdin?.end(serverUrl);
  });
}
