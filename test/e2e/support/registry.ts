// A real OCI registry for e2e tests: the CNCF distribution registry (Debian's `docker-registry`),
// run with a config of our own on a free loopback port, optionally with htpasswd auth and TLS.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTools, run, sleep } from './exec.js';

export interface RegistryOptions {
  /** Require HTTP basic auth with this user (bcrypt htpasswd file made by `htpasswd -Bbn`). */
  htpasswd?: { user: string; password: string };
  /** Serve HTTPS with a fresh self-signed certificate for 127.0.0.1 (see `caFile`). */
  tls?: boolean;
  /** With `tls`: the DNS names the certificate is for instead of 127.0.0.1 (a certificate for other names). */
  certNames?: string[];
  /** Listen on this port instead of a free one (e.g. 5000 for a long-running dev registry). */
  port?: number;
}

export interface Registry {
  /** `127.0.0.1:PORT`, the registry part of image references. */
  host: string;
  /** `http://127.0.0.1:PORT` or `https://...` */
  url: string;
  /** Temp directory with the config, storage (`data/`), htpasswd and certificate. */
  dir: string;
  /** The self-signed certificate (PEM) to trust, when `tls` was asked for. */
  caFile?: string;
  /** Stops the registry process and removes `dir`. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** A TCP port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('could not get a free port'))));
    });
  });
}

/**
 * Any HTTP status from GET url (401 counts: the registry is up). Rejects on connection errors.
 * The certificate must chain to `ca`; the name in it is not checked (one may be for other names).
 */
function probe(url: string, ca: Buffer | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const done = (res: { statusCode?: number | undefined; resume(): void }): void => {
      res.resume();
      resolve(res.statusCode ?? 0);
    };
    const req = url.startsWith('https:')
      ? httpsRequest(url, { ...(ca === undefined ? {} : { ca }), checkServerIdentity: () => undefined }, done)
      : httpRequest(url, done);
    req.setTimeout(2_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function makeCertificate(dir: string, names?: readonly string[]): Promise<{ cert: string; key: string }> {
  requireTools('openssl');
  const cert = join(dir, 'registry.crt');
  const key = join(dir, 'registry.key');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${names?.[0] ?? '127.0.0.1'}`,
    '-addext',
    `subjectAltName=${names ? names.map((n) => `DNS:${n}`).join(',') : 'IP:127.0.0.1,DNS:localhost'}`,
    '-keyout',
    key,
    '-out',
    cert,
  ]);
  return { cert, key };
}

function configYaml(dir: string, port: number, tls: { cert: string; key: string } | undefined, htpasswdFile: string | undefined): string {
  // JSON is YAML, and quoting every path this way is safe whatever the temp dir is called.
  const q = (s: string): string => JSON.stringify(s);
  const lines = [
    'version: 0.1',
    'log: { level: warn, accesslog: { disabled: true } }',
    `storage: { filesystem: { rootdirectory: ${q(join(dir, 'data'))} }, delete: { enabled: true }, maintenance: { uploadpurging: { enabled: false } } }`,
    `http:`,
    `  addr: ${q(`127.0.0.1:${port}`)}`,
    `  secret: ${q('shale-e2e-' + String(port))}`,
  ];
  if (tls) lines.push(`  tls: { certificate: ${q(tls.cert)}, key: ${q(tls.key)} }`);
  if (htpasswdFile) lines.push(`auth: { htpasswd: { realm: shale-e2e, path: ${q(htpasswdFile)} } }`);
  return lines.join('\n') + '\n';
}

/**
 * Starts `docker-registry serve` on a free 127.0.0.1 port with storage in a temp dir and waits
 * until `/v2/` answers. Call `stop()` when done (a process exit also kills it).
 */
export async function startRegistry(opts: RegistryOptions = {}): Promise<Registry> {
  requireTools('docker-registry');
  const dir = await mkdtemp(join(tmpdir(), 'shale-registry-'));
  try {
    await mkdir(join(dir, 'data'));
    const tls = opts.tls === true ? await makeCertificate(dir, opts.certNames) : undefined;
    let htpasswdFile: string | undefined;
    if (opts.htpasswd) {
      requireTools('htpasswd');
      const { stdout } = await run('htpasswd', ['-Bbn', opts.htpasswd.user, opts.htpasswd.password]);
      htpasswdFile = join(dir, 'htpasswd');
      await writeFile(htpasswdFile, stdout.trim() + '\n');
    }
    const ca = tls ? readFileSync(tls.cert) : undefined;
    // The free port can be taken between our check and the registry's bind: retry a few times.
    let lastError = '';
    for (let attempt = 0; attempt < (opts.port === undefined ? 3 : 1); attempt++) {
      const port = opts.port ?? (await freePort());
      const configFile = join(dir, 'config.yml');
      await writeFile(configFile, configYaml(dir, port, tls, htpasswdFile));
      const started = await launch(configFile, port, tls !== undefined, ca);
      if ('error' in started) {
        lastError = started.error;
        continue;
      }
      const { child, url } = started;
      const registry: Registry = {
        host: `127.0.0.1:${port}`,
        url,
        dir,
        async stop() {
          await stopChild(child);
          await rm(dir, { recursive: true, force: true });
        },
      };
      if (tls) registry.caFile = tls.cert;
      return registry;
    }
    throw new Error(`docker-registry did not start:\n${lastError}`);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

async function launch(
  configFile: string,
  port: number,
  tls: boolean,
  ca: Buffer | undefined,
): Promise<{ child: ChildProcess; url: string } | { error: string }> {
  const child = spawn('docker-registry', ['serve', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let output = '';
  const keep = (b: Buffer): void => {
    output = (output + b.toString('utf8')).slice(-8_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  child.on('exit', () => {
    exited = true;
    live.delete(child);
  });
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (exited) return { error: output };
    try {
      const status = await probe(`${url}/v2/`, ca);
      if (status === 200 || status === 401) return { child, url };
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  await stopChild(child);
  return { error: `no answer from ${url}/v2/ after 20 s\n${output}` };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await gone;
  clearTimeout(timer);
  live.delete(child);
}
