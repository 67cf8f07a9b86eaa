// Running and inspecting images with tools independent of shale: podman (rootful, runc, host
// network, which works on the machines CI runs on), skopeo and umoci.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { requireTools, run, sleep, type RunResult } from './exec.js';

/** Containers started by this process and not yet removed; removed on exit whatever happens. */
const liveContainers = new Set<string>();
process.on('exit', () => {
  if (liveContainers.size > 0) {
    spawnSync('podman', ['rm', '-f', '-t', '0', ...liveContainers], { stdio: 'ignore' });
  }
});

const RUN_FLAGS = ['--runtime', 'runc', '--network', 'host'] as const;

function containerName(): string {
  return `shale-e2e-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Whether a reference names a registry (and so can be pulled) rather than a local-only image. */
function isRegistryRef(ref: string): boolean {
  const first = ref.split('/')[0] ?? '';
  return ref.includes('/') && (first.includes('.') || first.includes(':')) && first !== 'localhost';
}

/** `podman pull --tls-verify=false REF`; returns the image id. */
export async function pullImage(ref: string): Promise<string> {
  requireTools('podman');
  const { stdout } = await run('podman', ['pull', '--quiet', '--tls-verify=false', ref], { timeoutMs: 10 * 60_000 });
  return stdout.trim().split('\n').pop() ?? '';
}

/** `pull`: 'always' (default for registry references: a tag may have moved since last run), 'never'. */
export type PullPolicy = 'always' | 'never';

async function maybePull(ref: string, pull: PullPolicy | undefined): Promise<void> {
  if ((pull ?? (isRegistryRef(ref) ? 'always' : 'never')) === 'always') await pullImage(ref);
}

function envFlags(env: Record<string, string> | undefined): string[] {
  return Object.entries(env ?? {}).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
}

export interface RunImageOptions {
  /** The port the app listens on (host network). Passed as PORT unless `env` sets PORT. */
  port: number;
  env?: Record<string, string>;
  /** Arguments after the image (replace its CMD). */
  args?: string[];
  pull?: PullPolicy;
  /** `-v` mounts, e.g. `/tmp/site:/site:ro`. */
  volumes?: string[];
  /** Wait until http://127.0.0.1:PORT/ answers; 0 = do not wait. Default 60 000 ms. */
  waitMs?: number;
}

export interface RunningContainer {
  name: string;
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Removes the container (stopping it first). Safe to call twice. */
  stop(): Promise<void>;
  /** Its stdout and stderr so far. */
  logs(): Promise<string>;
}

/**
 * Starts an image detached (`podman run -d`) and, by default, waits until it answers HTTP on
 * `port`. The container is removed by `stop()` (or at process exit), not by `--rm`, so its logs
 * survive a crash and can go into the error.
 */
export async function runImage(ref: string, opts: RunImageOptions): Promise<RunningContainer> {
  requireTools('podman', 'runc');
  await maybePull(ref, opts.pull);
  const name = containerName();
  const env = { PORT: String(opts.port), ...opts.env };
  liveContainers.add(name);
  const url = `http://127.0.0.1:${opts.port}`;
  const container: RunningContainer = {
    name,
    url,
    async logs() {
      const r = await run('podman', ['logs', name], { allowFailure: true });
      return r.stdout + r.stderr;
    },
    async stop() {
      if (!liveContainers.has(name)) return;
      await run('podman', ['rm', '-f', '-t', '2', name], { allowFailure: true });
      liveContainers.delete(name);
    },
  };
  try {
    const mounts = (opts.volumes ?? []).flatMap((v) => ['-v', v]);
    await run('podman', ['run', '-d', '--name', name, ...RUN_FLAGS, ...mounts, ...envFlags(env), ref, ...(opts.args ?? [])]);
    const waitMs = opts.waitMs ?? 60_000;
    if (waitMs > 0) await waitForHttp(`${url}/`, waitMs);
  } catch (e) {
    const logs = await container.logs().catch(() => '');
    const state = await run('podman', ['inspect', '--format', '{{.State.Status}} exit={{.State.ExitCode}}', name], {
      allowFailure: true,
    });
    await container.stop();
    const msg = e instanceof Error ? e.message : String(e);
    throw new Error(`container ${name} from ${ref} (${state.stdout.trim() || 'not created'}): ${msg}\n--- logs ---\n${logs}`, {
      cause: e,
    });
  }
  return container;
}

/**
 * Runs `ref` (see runImage), hands the container to `check`, then removes the container and the
 * image, also when `check` throws.
 */
export async function withImage<T>(ref: string, opts: RunImageOptions, check: (c: RunningContainer) => Promise<T>): Promise<T> {
  const c = await runImage(ref, opts);
  try {
    return await check(c);
  } finally {
    await c.stop();
    await removeImages(ref);
  }
}

/** Any HTTP answer from url; rejects on connection errors. */
function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(2_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Polls `url` until it gives any HTTP response, then returns it; throws after `timeoutMs`. */
export async function waitForHttp(url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      return await httpGet(url);
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    if (Date.now() > deadline) throw new Error(`no HTTP answer from ${url} within ${timeoutMs} ms (last error: ${last})`);
    await sleep(200);
  }
}

/** `podman load -i FILE`; returns the names (or ids) of the images loaded. */
export async function loadTar(file: string): Promise<string[]> {
  requireTools('podman');
  const { stdout } = await run('podman', ['load', '-i', file], { timeoutMs: 10 * 60_000 });
  // "Loaded image: NAME" or "Loaded image(s): NAME1,NAME2"
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('Loaded image'))
    .flatMap((l) => l.slice(l.indexOf(':') + 1).split(','))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export interface PodmanRunOptions {
  env?: Record<string, string>;
  /** Overrides the image's ENTRYPOINT (`--entrypoint`); use [] to clear it. */
  entrypoint?: string[];
  pull?: PullPolicy;
  /** `-v` mounts, e.g. `/tmp/site:/site:ro`. */
  volumes?: string[];
  /** `-w` working directory. */
  workdir?: string;
  /** Resolve with the exit code instead of throwing when the command fails. */
  allowFailure?: boolean;
  timeoutMs?: number;
}

/** Runs `cmd` in a fresh container of `ref` (removed afterwards) and returns its output. */
export async function podmanRun(ref: string, cmd: string[], opts: PodmanRunOptions = {}): Promise<RunResult> {
  requireTools('podman', 'runc');
  await maybePull(ref, opts.pull);
  const name = containerName();
  const args = ['run', '--rm', '--name', name, ...RUN_FLAGS, ...envFlags(opts.env)];
  for (const v of opts.volumes ?? []) args.push('-v', v);
  if (opts.workdir !== undefined) args.push('-w', opts.workdir);
  if (opts.entrypoint) args.push('--entrypoint', JSON.stringify(opts.entrypoint));
  args.push(ref, ...cmd);
  liveContainers.add(name);
  try {
    return await run('podman', args, { timeoutMs: opts.timeoutMs ?? 5 * 60_000, allowFailure: opts.allowFailure ?? false });
  } finally {
    liveContainers.delete(name);
    // --rm removes it on a normal exit; after a timeout kill it may linger.
    spawnSync('podman', ['rm', '-f', '-t', '0', '--ignore', name], { stdio: 'ignore' });
  }
}

/** Removes images from podman's store (ignoring ones not there). */
export async function removeImages(...refs: string[]): Promise<void> {
  if (refs.length > 0) await run('podman', ['rmi', '-f', '--ignore', ...refs], { allowFailure: true });
}

/** What `skopeo inspect` prints (the fields tests use). */
export interface SkopeoInspect {
  Name?: string;
  Digest: string;
  RepoTags?: string[];
  Created?: string;
  Architecture: string;
  Os: string;
  Layers: string[];
  LayersData?: { MIMEType: string; Digest: string; Size: number; Annotations: Record<string, string> | null }[];
  Env?: string[] | null;
  Labels?: Record<string, string> | null;
}

/**
 * skopeo transport for a reference: `oci:DIR[:tag]`, `docker-archive:FILE`, `docker://...` are
 * taken as they are; an existing directory is an OCI layout, an existing file (or a *.tar path)
 * a docker archive, anything else a registry reference.
 */
export function skopeoRef(ref: string): string {
  if (/^(oci|docker|docker-archive|oci-archive|containers-storage|dir):/.test(ref)) return ref;
  if (existsSync(ref)) return statSync(ref).isDirectory() ? `oci:${ref}` : `docker-archive:${ref}`;
  if (ref.endsWith('.tar')) return `docker-archive:${ref}`;
  return `docker://${ref}`;
}

async function skopeo(args: string[]): Promise<string> {
  requireTools('skopeo');
  const { stdout } = await run('skopeo', ['--insecure-policy', ...args], { timeoutMs: 5 * 60_000 });
  return stdout;
}

/**
 * Copies `tag` of the OCI layout `layout` to the registry reference `ref` with skopeo, digests
 * kept (`all`: every image of an index), and returns the digest the registry now serves; with
 * `expect`, a different one is an error (a push that rewrote the manifest).
 */
export async function pushLayout(
  layout: string,
  tag: string,
  ref: string,
  opts: { expect?: string; all?: boolean; creds?: { user: string; password: string } } = {},
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'shale-push-'));
  try {
    const digestFile = join(dir, 'digest');
    const args = ['copy', '--quiet', ...(opts.all ? ['--all'] : []), '--preserve-digests', '--dest-tls-verify=false', '--digestfile', digestFile];
    if (opts.creds) args.push('--dest-creds', `${opts.creds.user}:${opts.creds.password}`);
    await skopeo([...args, `oci:${layout}:${tag}`, `docker://${ref}`]);
    const pushed = (await readFile(digestFile, 'utf8')).trim();
    if (opts.expect !== undefined && pushed !== opts.expect) throw new Error(`skopeo pushed ${ref} as ${pushed}, but the layout's manifest is ${opts.expect}`);
    return pushed;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `skopeo inspect` (registry references are read without TLS verification). */
export async function skopeoInspect(ref: string, opts: { creds?: { user: string; password: string } } = {}): Promise<SkopeoInspect> {
  const args = ['inspect', '--tls-verify=false'];
  if (opts.creds) args.push('--creds', `${opts.creds.user}:${opts.creds.password}`);
  return JSON.parse(await skopeo([...args, skopeoRef(ref)])) as SkopeoInspect;
}

/** The raw manifest (or index) JSON as stored, via `skopeo inspect --raw`. */
export async function skopeoRawManifest(ref: string): Promise<{ text: string; json: Record<string, unknown> }> {
  const text = await skopeo(['inspect', '--raw', '--tls-verify=false', skopeoRef(ref)]);
  return { text, json: JSON.parse(text) as Record<string, unknown> };
}

/** The image config JSON, via `skopeo inspect --config`. */
export async function skopeoConfig(ref: string): Promise<Record<string, unknown>> {
  return JSON.parse(await skopeo(['inspect', '--config', '--tls-verify=false', skopeoRef(ref)])) as Record<string, unknown>;
}

/** What `umoci stat --json` prints: one history entry per config history line. */
export interface UmociStat {
  history: {
    layer: { mediaType: string; digest: string; size: number } | null;
    diff_id?: string;
    created?: string;
    created_by?: string;
    comment?: string;
    empty_layer: boolean;
  }[];
}

/** `umoci stat --json --image DIR:TAG`: reads an OCI layout independently of shale. */
export async function umociStat(dir: string, tag: string): Promise<UmociStat> {
  requireTools('umoci');
  const { stdout } = await run('umoci', ['stat', '--json', '--image', `${dir}:${tag}`]);
  return JSON.parse(stdout) as UmociStat;
}

/** `umoci unpack --image DIR:TAG BUNDLE`: the root fs ends up in BUNDLE/rootfs. */
export async function umociUnpack(dir: string, tag: string, bundle: string): Promise<string> {
  requireTools('umoci');
  await run('umoci', ['unpack', '--image', `${dir}:${tag}`, bundle], { timeoutMs: 10 * 60_000 });
  return `${bundle}/rootfs`;
}
