import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from '../pipeline/build.js';
import type { BuildOptions } from '../pipeline/options.js';
import type { BuildSpec } from '../config/spec.js';
import type { Events } from '../events.js';
import { openArtifact } from '../image/open.js';
import { loadArtifact } from '../image/opened.js';
import { LayoutPublisher } from '../publish/layout.js';
import { checkAppEntry } from './app-entry.js';
import { checkConflicts } from './conflicts.js';
import { checkEntrypoint } from './entrypoint.js';
import { checkExcluded } from './excluded.js';
import { imageViews } from './image-views.js';
import { checkNativeFiles } from './native-files.js';
import { checkReproducible } from './reproducible.js';
import { checkLayerOrder } from './layer-order.js';
import { checkPythonSite } from './python-site.js';
import { checkRequirements } from './requirements.js';
import { checkUser } from './user.js';
import { checkSystemPackages } from './system-packages.js';
import type { ValidateReport } from './result.js';

/** How to build for validation: the build's options without publishers or caches (validate picks its own). */
export type ValidateOptions = Omit<BuildOptions, 'publishers' | 'noCache'>;

/**
 * Builds the app twice ignoring every cache into a temporary OCI layout, reads the first image
 * back and runs the checks of README, "validate" on it: layers run from least to most often
 * changed, native files match their platform, no
 * path is written by two shale layers, no default-excluded file is in the app layer, the
 * entrypoint's program exists, the script or module it runs is there, shale's packages are where
 * the image's Python reads them and their requirements are met, the user exists, the Debian packages meet
 * each other's dependencies, and the two
 * builds gave the same digests. The layout is removed.
 */
export async function validate(spec: BuildSpec, opts: ValidateOptions, events: Events): Promise<ValidateReport> {
  const dir = await mkdtemp(join(tmpdir(), 'shale-validate-'));
  try {
    const layout = join(dir, 'layout');
    // Both builds publish to one layout: blobs already there (the base's) are not written twice.
    const into: BuildOptions = { ...opts, noCache: true, publishers: [new LayoutPublisher(layout, { tag: 'latest' })] };
    const first = await build(spec, into, events);
    const artifact = await loadArtifact(await openArtifact({ layout }, { ref: first.digest }));
    const second = await build(spec, into, events);
    events({ type: 'step', step: 'reading layers', detail: layout });
    const images = await imageViews(artifact, `the image built from ${spec.configFile}`);
    const checks = [
      checkLayerOrder(first.layers),
      checkNativeFiles(images),
      checkConflicts(images),
      checkExcluded(images),
      checkEntrypoint(images),
      checkAppEntry(images),
      checkPythonSite(images),
      checkRequirements(images),
      checkUser(images),
      checkSystemPackages(images),
      checkReproducible(first, second),
    ];
    return { digest: first.digest, checks, ok: checks.every((c) => c.ok) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
