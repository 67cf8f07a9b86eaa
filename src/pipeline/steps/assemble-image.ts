import { Annotation } from '../../oci/annotations.js';
import type { Artifact, Image } from '../../oci/image.js';
import type { PlannedLayer } from '../../plan/layers.js';
import { assembleImage, assembleIndex, type ImageSettings } from '../assemble.js';
import type { BuildRun } from '../build-run.js';
import type { ChosenPackages } from './choose-packages.js';
import type { MadeLayers } from './make-layers.js';
import type { PlatformBase } from './resolve-base.js';

/**
 * Step 5, per platform: the image config (the base's with the app's settings on top, a history
 * line per layer) and the manifest, which records the base and, as an annotation, every Python
 * package pinned (`name==version`, sorted), readable without pulling a layer.
 */
export function assemblePlatform(run: BuildRun, base: PlatformBase, chosen: ChosenPackages, plans: readonly PlannedLayer[], layers: MadeLayers): Image {
  const pins = chosen.packages.map((p) => `${p.name}==${p.version}`).sort();
  const annotations = pins.length ? { [Annotation.PythonPackages]: pins.join(' ') } : {};
  const appLayers = layers.made.map((m, j) => ({ layer: m.layer, createdBy: plans[j]!.createdBy }));
  const { entrypoint, cmd, env, workdir, labels, ports, user } = run.spec;
  const settings: ImageSettings = { entrypoint, cmd, env, workdir, labels, ports, user };
  return assembleImage(base.base, settings, appLayers, base.platform, run.opts.epoch, annotations);
}

/** Step 5, for all platforms: the one image, or an OCI index over the platforms' images. */
export function assembleArtifact(images: readonly Image[], epoch: number): Artifact {
  return images.length === 1 ? { kind: 'image', image: images[0]! } : { kind: 'index', index: assembleIndex(images, epoch) };
}
