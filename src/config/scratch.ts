/**
 * `base = "scratch"`: a base made of Debian packages alone (src/debian/scratch.ts). It needs
 * `distribution` (which release the packages come from) and `system-packages` (what the image
 * holds); `distribution` means nothing on any other base, whose release is read from the image.
 */
import { InputError } from '../errors.js';
import { systemGroups, type BuildSpec } from './spec.js';

/** The `base` value that starts from an empty image. */
export const SCRATCH = 'scratch';

/** Whether the spec builds its base from packages. */
export const isScratch = (spec: Pick<BuildSpec, 'base'>): boolean => spec.base === SCRATCH;

/**
 * A scratch base's packages: Debian's `base-files` added to the lowest system layer (the skeleton
 * every Debian system has: /etc/os-release, which scanners read to know the release, /tmp and
 * /var/tmp, /root, /home), unless some layer names it already.
 */
export function withScratchPackages(spec: BuildSpec): void {
  const groups = systemGroups(spec);
  if (groups.some((g) => g.packages.some((p) => p.split('=')[0] === 'base-files'))) return;
  if (spec.systemPackages?.length) spec.systemPackages = ['base-files', ...spec.systemPackages];
  else if (spec.systemLayers?.length)
    spec.systemLayers = [{ ...spec.systemLayers[0]!, packages: ['base-files', ...spec.systemLayers[0]!.packages] }, ...spec.systemLayers.slice(1)];
}

/** Bad combinations of `base`, `distribution` and `system-packages`, as InputErrors naming the keys. */
export function checkScratch(file: string, key: string, spec: BuildSpec): void {
  if (!isScratch(spec)) {
    if (spec.distribution !== undefined)
      throw new InputError(
        'SHALE_CONFIG_INVALID',
        `${file}: \`${key}\` is only for base = "scratch" (a base made of Debian packages); the base ${spec.base} says its own release. ` +
          'Remove `distribution`, or set base = "scratch"',
      );
    return;
  }
  if (spec.distribution === undefined)
    throw new InputError(
      'SHALE_CONFIG_INVALID',
      `${file}: base = "scratch" needs \`${key}\`, the release its packages come from, like distribution = "debian:bookworm"`,
    );
  if (!systemGroups(spec).length)
    throw new InputError(
      'SHALE_CONFIG_INVALID',
      `${file}: base = "scratch" needs \`system-packages\`, what the image is made of, like system-packages = ["python3"]`,
    );
}
