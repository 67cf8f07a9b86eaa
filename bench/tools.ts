// The two tools under test, each as a "runner": the local state a CI machine keeps between builds.
// shale: a SHALE_CACHE_DIR. buildah: its own --root/--runroot storage and, when possible, its own
// blob-info cache (containers/image keeps it in /var/lib/containers/cache for root, outside --root;
// we bind-mount a per-runner directory over it in a private mount namespace with unshare).
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../test/e2e/support/exec.js';
import { shaleBin, type BuildJson } from '../test/e2e/support/shale.js';
import { timed } from './measure.js';

export interface BuildSample {
  seconds: number;
  rssMb: number;
  /** shale's --json (shale only). */
  json?: BuildJson;
  /** The pushed manifest digest, when the tool reported it. */
  digest?: string;
}

export interface Runner {
  readonly tool: 'shale' | 'buildah';
  /** Builds `appDir` and pushes it to `ref`. */
  buildPush(appDir: string, ref: string): Promise<BuildSample>;
  /** Deletes the runner's local state. */
  dispose(): Promise<void>;
}

let counter = 0;

/** What every command of a shale runner gets besides its cache and the registry mirror. */
export interface ShaleRunnerOptions {
  /** More environment (e.g. `PIP_INDEX_URL`). */
  env?: Record<string, string>;
  /** Node options before bin/shale (e.g. `--cpu-prof`, `--cpu-prof-dir=DIR`). */
  nodeArgs?: readonly string[];
}

/** The `--json` output of `shale lock`. */
export interface LockJson {
  file: string;
  input: string;
  /** Packages per platform ("linux/amd64" → 25). */
  packages: Record<string, number>;
  changed: boolean;
}

export class ShaleRunner implements Runner {
  readonly tool = 'shale';
  private constructor(
    readonly cacheDir: string,
    private readonly mirrorHost: string,
    private readonly opts: ShaleRunnerOptions,
  ) {}

  static async create(root: string, mirrorHost: string, opts: ShaleRunnerOptions = {}): Promise<ShaleRunner> {
    const dir = join(root, `shale-cache-${++counter}`);
    await mkdir(dir, { recursive: true });
    return new ShaleRunner(dir, mirrorHost, opts);
  }

  /** Runs `bin/shale ARGS` under GNU time with the runner's cache, mirror and environment. */
  private shale(args: readonly string[]): ReturnType<typeof timed> {
    return timed(process.execPath, [...(this.opts.nodeArgs ?? []), shaleBin(), ...args], {
      env: { ...this.opts.env, SHALE_CACHE_DIR: this.cacheDir, SHALE_REGISTRY_MIRRORS: `docker.io=${this.mirrorHost}` },
    });
  }

  /** `args`: extra `shale build` options (e.g. `--platform linux/amd64`). */
  async buildPush(appDir: string, ref: string, args: readonly string[] = []): Promise<BuildSample> {
    const t = await this.shale(['build', appDir, ...args, '--push', ref, '--json']);
    const json = JSON.parse(t.stdout) as BuildJson;
    return { seconds: t.seconds, rssMb: t.rssMb, json, digest: json.digest };
  }

  /** `shale lock APP --output FILE --cache-dir CACHE --json`: resolves the app's requirements into FILE. */
  async lock(appDir: string, output: string): Promise<{ seconds: number; rssMb: number; json: LockJson }> {
    const t = await this.shale(['lock', appDir, '--output', output, '--cache-dir', this.cacheDir, '--json']);
    return { seconds: t.seconds, rssMb: t.rssMb, json: JSON.parse(t.stdout) as LockJson };
  }

  async dispose(): Promise<void> {
    await rm(this.cacheDir, { recursive: true, force: true });
  }
}

const BLOB_INFO_CACHE = '/var/lib/containers/cache';
let isolationChecked: boolean | undefined;

/** Whether `unshare -m` + a bind mount over the blob-info cache works here (root, CAP_SYS_ADMIN). */
async function canIsolate(probeDir: string): Promise<boolean> {
  if (isolationChecked !== undefined) return isolationChecked;
  await mkdir(probeDir, { recursive: true });
  const r = await run(
    'unshare',
    ['-m', '--propagation', 'private', 'sh', '-c', `mkdir -p ${BLOB_INFO_CACHE} && mount --bind "$0" ${BLOB_INFO_CACHE}`, probeDir],
    { allowFailure: true },
  );
  isolationChecked = r.exitCode === 0;
  return isolationChecked;
}

/** Mount points at or below `dir` (deepest first), from /proc/self/mounts. */
async function mountsUnder(dir: string): Promise<string[]> {
  const text = await readFile('/proc/self/mounts', 'utf8').catch(() => '');
  return text
    .split('\n')
    .map((l) => (l.split(' ')[1] ?? '').replace(/\\040/g, ' '))
    .filter((m) => m === dir || m.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length);
}

export class BuildahRunner implements Runner {
  readonly tool = 'buildah';
  private constructor(
    readonly dir: string,
    private readonly isolated: boolean,
  ) {}

  static async create(root: string): Promise<BuildahRunner> {
    const dir = join(root, `buildah-${++counter}`);
    await mkdir(join(dir, 'blob-info-cache'), { recursive: true });
    const isolated = await canIsolate(join(root, 'isolation-probe'));
    return new BuildahRunner(dir, isolated);
  }

  /** `buildah --root --runroot ARGS`, in its own mount namespace with its own blob-info cache. */
  private command(args: readonly string[]): [string, string[]] {
    const buildah = ['buildah', '--root', join(this.dir, 'root'), '--runroot', join(this.dir, 'runroot'), ...args];
    if (!this.isolated) return [buildah[0]!, buildah.slice(1)];
    return [
      'unshare',
      ['-m', '--propagation', 'private', 'sh', '-c', `mount --bind "$0" ${BLOB_INFO_CACHE} && exec "$@"`, join(this.dir, 'blob-info-cache'), ...buildah],
    ];
  }

  /** `budArgs`: extra `buildah bud` options (e.g. `--cache-from REPO --cache-to REPO`). */
  async buildPush(appDir: string, ref: string, budArgs: readonly string[] = []): Promise<BuildSample> {
    const [bt, ba] = this.command([
      'bud',
      '--isolation',
      'chroot',
      '--layers',
      '--tls-verify=false',
      ...budArgs,
      '-f',
      join(appDir, 'Dockerfile'),
      '-t',
      ref,
      appDir,
    ]);
    const bud = await timed(bt, ba, { timeoutMs: 15 * 60_000 });
    const digestFile = join(this.dir, 'digest');
    const [pt, pa] = this.command(['push', '--tls-verify=false', '--digestfile', digestFile, ref, `docker://${ref}`]);
    const push = await timed(pt, pa, { timeoutMs: 15 * 60_000 });
    const digest = (await readFile(digestFile, 'utf8').catch(() => '')).trim();
    const out: BuildSample = { seconds: bud.seconds + push.seconds, rssMb: Math.max(bud.rssMb, push.rssMb) };
    if (digest) out.digest = digest;
    return out;
  }

  async dispose(): Promise<void> {
    const [t, a] = this.command(['rmi', '--all', '--force']);
    await run(t, a, { allowFailure: true, timeoutMs: 120_000 });
    for (const m of await mountsUnder(this.dir)) await run('umount', ['-l', m], { allowFailure: true });
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Whether buildah runners got their own blob-info cache (undefined before the first runner). */
export const blobInfoCacheIsolated = (): boolean | undefined => isolationChecked;
