// Bench: adding curl + libpq5 to a Debian python base, shale's `system-packages` (the .debs
// unpacked into a reproducible layer, nothing run) side by side with `buildah bud` of
// `RUN apt-get update && apt-get install -y --no-install-recommends curl libpq5` on the same
// base (bookworm + python3 + apt, made by mmdebstrap --variant=apt, so the base's own apt
// sources and keyring are what both use; the RUN removes apt's lists and caches, as the official
// images do). Cold: empty caches; warm: the app changed, the system packages did not. Prints one
// JSON object; run with `node dist/bench/system-packages.js`.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { layoutFromRootfs, MMDEBSTRAP_ARGS } from '../test/e2e/support/base-image.js';
import { cachedDir, cacheKey } from '../test/e2e/support/cache.js';
import { requireTools, run } from '../test/e2e/support/exec.js';
import { pushLayout, skopeoRawManifest } from '../test/e2e/support/podman.js';
import { startRegistry } from '../test/e2e/support/registry.js';
import { BuildahRunner, ShaleRunner } from './tools.js';

const ARGS = MMDEBSTRAP_ARGS.map((a) => (a === '--variant=essential' ? '--variant=apt' : a));

async function aptBase(host: string): Promise<string> {
  requireTools('mmdebstrap', 'skopeo', 'buildah');
  const dir = await cachedDir(`bench-base-image/bookworm-python3-apt-amd64-${cacheKey('bench-apt-base-v1', ...ARGS)}`, async (tmp) => {
    const rootfs = join(tmp, 'rootfs.tar');
    await run('mmdebstrap', [...ARGS, rootfs], { env: { SOURCE_DATE_EPOCH: '1700000000' }, timeoutMs: 20 * 60_000 });
    await layoutFromRootfs(tmp, rootfs, { createdBy: `mmdebstrap ${ARGS.join(' ')}`, comment: 'shale bench base (apt)', tag: 'apt' });
  });
  const ref = `${host}/library/pyapt:bench`;
  await pushLayout(join(dir, 'layout'), 'apt', ref);
  return ref;
}

/** Sizes of the layers an image has above its base's `baseLayers` layers. */
async function addedBytes(ref: string, baseLayers: number): Promise<number> {
  const m = (await skopeoRawManifest(ref)).json as { layers: { size: number }[] };
  return m.layers.slice(baseLayers).reduce((n, l) => n + l.size, 0);
}

async function main(): Promise<void> {
  const reg = await startRegistry();
  const root = await mkdtemp(join(tmpdir(), 'shale-bench-sys-'));
  try {
    const base = await aptBase(reg.host);
    const app = join(root, 'app');
    await mkdir(app);
    await writeFile(join(app, 'main.py'), 'print("v1")\n');
    await writeFile(
      join(app, 'pyproject.toml'),
      '[tool.shale]\nname = "sys"\ndomain = "bench"\nbase = "pyapt:bench"\nentrypoint = ["python3", "main.py"]\nexclude = ' +
        '["Dockerfile"]\nsystem-packages = ["curl", "libpq5"]\n',
    );
    await writeFile(
      join(app, 'Dockerfile'),
      `FROM ${base}\nRUN apt-get update && apt-get install -y --no-install-recommends curl libpq5 && rm -rf /var/lib/apt/lists/* ` +
        `/var/cache/apt/*.bin\nCOPY main.py /app/main.py\nWORKDIR /app\nENTRYPOINT ["python3", "main.py"]\n`,
    );
    const shale = await ShaleRunner.create(root, reg.host);
    const buildah = await BuildahRunner.create(root);
    const sCold = await shale.buildPush(app, `${reg.host}/bench/sys-shale:cold`);
    const bCold = await buildah.buildPush(app, `${reg.host}/bench/sys-buildah:cold`);
    await writeFile(join(app, 'main.py'), 'print("v2")\n');
    const sWarm = await shale.buildPush(app, `${reg.host}/bench/sys-shale:warm`);
    const bWarm = await buildah.buildPush(app, `${reg.host}/bench/sys-buildah:warm`);
    const system = sCold.json?.layers.filter((l) => l.name.startsWith('system')) ?? [];
    const out = {
      what: 'curl + libpq5 on Debian bookworm + python3 + apt (same base for both)',
      shale: {
        coldSeconds: sCold.seconds,
        coldRssMb: sCold.rssMb,
        warmSeconds: sWarm.seconds,
        systemLayerBytes: system.reduce((n, l) => n + l.size, 0),
        addedBytes: await addedBytes(`${reg.host}/bench/sys-shale:cold`, 1),
        warmSystemSource: sWarm.json?.layers.find((l) => l.name === 'system')?.source,
      },
      buildah: {
        coldSeconds: bCold.seconds,
        coldRssMb: bCold.rssMb,
        warmSeconds: bWarm.seconds,
        addedBytes: await addedBytes(`${reg.host}/bench/sys-buildah:cold`, 1),
      },
    };
    console.log(JSON.stringify(out, null, 2));
    await shale.dispose();
    await buildah.dispose();
  } finally {
    await reg.stop();
    await rm(root, { recursive: true, force: true });
  }
}

await main();
