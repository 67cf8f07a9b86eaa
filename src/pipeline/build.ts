import { join } from 'node:path';
import type { BuildSpec } from '../config/spec.js';
import { ShaleError } from '../errors.js';
import type { Events } from '../events.js';
import { artifactDigest, type Artifact, type Image, type Layer } from '../oci/image.js';
import { platformString, type Platform } from '../oci/types.js';
import type { Entry } from '../layer/entry.js';
import { collectFiles } from '../plan/app-files.js';
import { planLayers } from '../plan/layers.js';
import { prehashFiles } from '../plan/fingerprint.js';
import { BlobPusher, pushArtifact } from '../publish/registry.js';
import { writeLayout } from '../publish/layout.js';
import { writeTarball } from '../publish/tarball.js';
import { detectPythonLayout } from '../python/layout.js';
import { parseReferenceAt, referenceString, type Reference } from '../ref/reference.js';
import { RegistryClient } from '../registry/client.js';
import { FsBlobStore } from '../store/blob-store.js';
import { FingerprintIndex } from '../store/fingerprint-index.js';
import { sweepStaleTemps } from '../store/cache-prune.js';
import { FileHashes } from '../store/file-hashes.js';
import { assembleImage, assembleIndex, PYTHON_PACKAGES_ANNOTATION, type BaseImage } from './assemble.js';
import { resolveBase } from './base.js';
import { baseLibc } from './base-libc.js';
import { formatLibc, UNUSED_LIBC } from '../python/libc.js';
import { LayerMaker } from './materialize.js';
import { registryLayers, type RemoteLayers } from './registry-cache.js';
import { LayerRecords } from '../store/layer-records.js';
import type { BuildOptions } from './options.js';
import { PackageResolver } from './packages.js';
import type { BuildResult, LayerReport } from './result.js';


/**
 * Builds the app's image: resolve the base per platform, install the locked wheels, plan and
 * make the layers (from cache when their inputs are unchanged), assemble config and manifests,
 * then publish to what was asked (registry, tarball, OCI layout; the layout by default).
 */
export async function build(spec: BuildSpec, opts: BuildOptions, events: Events): Promise<BuildResult> {
  const started = performance.now();
  try {
    return await buildOnce(spec, opts, events, started);
  } catch (err) {
    // A cached blob that no longer matches its digest was deleted when it was read; one more
    // run rebuilds it. Nothing was published yet that a second run would not publish the same.
    if (!(err instanceof ShaleError && err.code === 'SHALE_BLOB_CORRUPT')) throw err;
    events({ type: 'log', level: 'warn', message: `the local cache held a corrupt blob, now removed; building again (${err.message})` });
    return buildOnce(spec, opts, events, started);
  }
}

/** What every step of one build shares. */
interface BuildContext {
  spec: BuildSpec;
  opts: BuildOptions;
  events: Events;
  client: RegistryClient;
  resolver: PackageResolver;
  maker: LayerMaker;
  hashes: FileHashes;
  remote: RemoteLayers;
  /** Sends layers to the push target as soon as they exist (when pushing). */
  pusher: BlobPusher | undefined;
  app: Entry[];
  platforms: Platform[];
}

async function buildOnce(spec: BuildSpec, opts: BuildOptions, events: Events, started: number): Promise<BuildResult> {
  const platforms = opts.platforms ?? spec.platforms;
  const baseRef = parseReferenceAt(`${spec.configFile}: \`base\``, spec.base);
  const pushRef = opts.push === undefined ? undefined : parseReferenceAt('--push', opts.push);
  const client = new RegistryClient({
    insecureRegistries: opts.insecureRegistries, events, caFiles: opts.registryCa ?? [], ...(opts.signal ? { signal: opts.signal } : {}),
  });
  try {
    const blobs = new FsBlobStore(opts.cacheDir);
    const cacheFrom = opts.noCache ? [] : [...(pushRef ? [pushRef] : []), ...opts.cacheFrom.map((r) => parseReferenceAt('--cache-from', r))];

    const resolver = new PackageResolver(spec, opts.cacheDir, events);
    const hashes = FileHashes.in(opts.cacheDir, events);
    events({ type: 'step', step: 'resolving base image', detail: spec.base });
    const collecting = collectFiles(spec.projectDir, spec.app, spec.exclude, events);
    // While the registry answers: read the lock and hash the app's files (both memoized; a
    // failure here is reported by the step that needs the result).
    void Promise.all([resolver.dependencies(), collecting.then((app) => prehashFiles(app, hashes))]).catch(() => undefined);
    const [bases, app, remote] = await Promise.all([
      resolveBase(client, baseRef, platforms, opts.mirrors),
      collecting,
      registryLayers(client, cacheFrom, events, pushRef),
    ]);
    const cache = { blobs, index: new FingerprintIndex(opts.cacheDir, blobs, events), records: new LayerRecords(opts.cacheDir, events), remote, client };
    const ctx: BuildContext = {
      spec, opts, events, client, remote, app, platforms, resolver, hashes,
      maker: new LayerMaker(cache, { noCache: opts.noCache, epoch: opts.epoch, events, projectDir: spec.projectDir }),
      pusher: pushRef ? new BlobPusher(client, pushRef, events, remote.target?.blobs) : undefined,
    };
    const built = await Promise.all(platforms.map((platform, i) => platformImage(ctx, bases[i]!, platform)));
    const images: Image[] = built.map((b) => b.image);
    const artifact: Artifact = images.length === 1 ? { kind: 'image', image: images[0]! } : { kind: 'index', index: assembleIndex(images, opts.epoch) };
    const { outputs, pushed } = await publish(ctx, artifact, pushRef);
    await ctx.hashes.save();
    if (built.some((b) => b.reports.some((r) => r.source === 'built'))) {
      const freed = await sweepStaleTemps(opts.cacheDir).catch(() => 0);
      if (freed) events({ type: 'log', level: 'info', message: `removed ${freed} bytes of temporary files that interrupted builds left in ${opts.cacheDir}` });
    }
    return { digest: artifactDigest(artifact), layers: built.flatMap((b) => b.reports), pushed, seconds: Math.round(performance.now() - started) / 1000, outputs, ...(pushRef ? { reference: referenceString(pushRef) } : {}) };
  } finally {
    await client.close();
  }
}

/** One platform's image: its libc and Python, packages, planned and made layers, assembled. */
async function platformImage(ctx: BuildContext, resolved: BaseImage, platform: Platform): Promise<{ image: Image; reports: LayerReport[] }> {
  const { spec, opts, events, resolver, maker } = ctx;
  const plat = platformString(platform);
  const needed = (await resolver.dependencies()) !== undefined;
  const libc = await baseLibc(resolved, spec.libc, { cacheDir: opts.cacheDir, noCache: opts.noCache, fromRegistry: ctx.remote.baseLibc, events, needed });
  const base = libc ? { ...resolved, libc: formatLibc(libc) } : resolved;
  const py = detectPythonLayout(base.config.config?.Env ?? [], spec.python);
  const env = { python: py.python, platform, libc: libc ?? UNUSED_LIBC };
  const [packages, libs] = await Promise.all([resolver.packages(env, py.layout), resolver.libs(py.layout)]);
  const plans = await planLayers({ spec, layout: py.layout, packages, libs, app: ctx.app, epoch: opts.epoch, hashes: ctx.hashes, baseLayers: base.layers.length, caCerts: await resolver.caCerts() });
  // Every lookup first, so the builds that remain queue together and the heaviest start first;
  // with them, the check that no two layers write one path differently (before anything is made).
  await Promise.all([maker.checkPaths(plans, packages, py.layout, opts.cacheDir), ...plans.map((p) => maker.lookup(p))]);
  // Uploads start as each layer exists; a failure surfaces when the push waits for them.
  const early = (l: Layer) => void ctx.pusher?.layer(l).catch(() => undefined);
  base.layers.forEach(early);
  const made = await Promise.all(plans.map((p) => maker.make(p, plat, ctx.platforms.length > 1).then((m) => (early(m.layer), m))));
  const reports: LayerReport[] = [
    ...base.layers.map((l) => ({ name: l.name, kind: 'base' as const, digest: l.descriptor.digest, size: l.descriptor.size, source: l.source, platform: plat, reason: `from ${base.name}` })),
    ...made.map((m, j) => ({ name: m.layer.name, kind: plans[j]!.kind, digest: m.layer.descriptor.digest, size: m.layer.descriptor.size, source: m.layer.source, platform: plat, reason: m.reason })),
  ];
  const pins = packages.map((p) => `${p.name}==${p.version}`).sort();
  const annotations = pins.length ? { [PYTHON_PACKAGES_ANNOTATION]: pins.join(' ') } : {};
  const image = assembleImage(spec, base, made.map((m, j) => ({ layer: m.layer, createdBy: plans[j]!.createdBy })), platform, opts.epoch, annotations);
  return { image, reports };
}

/** Sends the artifact where it was asked: the registry, a tarball, the OCI layout (the default). */
async function publish(ctx: BuildContext, artifact: Artifact, pushRef: Reference | undefined): Promise<{ outputs: string[]; pushed: { bytes: number; blobs: number } }> {
  const { spec, opts, events } = ctx;
  const outputs: string[] = [];
  const pushed = { bytes: 0, blobs: 0 };
  const tag = pushRef?.tag ?? 'latest';
  if (pushRef && opts.push !== undefined) {
    events({ type: 'step', step: 'pushing', detail: opts.push });
    if (ctx.remote.target?.digest === artifactDigest(artifact)) {
      // The tag already names this very image: nothing to send, not even a manifest.
      events({ type: 'log', level: 'info', message: `${opts.push} is up to date` });
    } else {
      const r = await pushArtifact(ctx.client, pushRef, artifact, events, ctx.pusher ? { pusher: ctx.pusher } : {});
      pushed.bytes = r.pushedBytes;
      pushed.blobs = r.pushedBlobs;
    }
    outputs.push(opts.push);
  }
  if (opts.tar !== undefined) {
    events({ type: 'step', step: 'writing tarball', detail: opts.tar });
    const repoTag = pushRef ? `${pushRef.registry}/${pushRef.repository}:${tag}` : `${spec.repository}:${tag}`;
    await writeTarball(opts.tar, artifact, { repoTags: [repoTag], events });
    outputs.push(opts.tar);
  }
  if (opts.oci !== undefined || (!pushRef && opts.tar === undefined)) {
    const dir = opts.oci ?? join(spec.projectDir, '.shale', 'image');
    events({ type: 'step', step: 'writing OCI layout', detail: dir });
    await writeLayout(dir, artifact, { tag, events });
    outputs.push(dir);
  }
  return { outputs, pushed };
}
