/**
 * `base = "scratch"`: a base made of Debian packages alone (src/debian/scratch.ts). It needs
 * `distribution` (which release the packages come from) and `system-packages` (what the image
 * holds); `distribution` means nothing on any other base, whose release is read from the image.
 */
import { InputError } from '../errors.js';
import type { BuildSpec } from './spec.js';

/** The `base` value that starts from an empty image. */
export const SCRATCH = 'scratch';

/** Whether the spec builds its base from packages. */
export const isScratch = (spec: Pick<BuildSpec, 'base'>): boolean => spec.base === SCRATCH;

/**
 * The packages a scratch base is made of: `system-packages` with Debian's `base-files` first (the
 * skeleton every Debian system has: /etc/os-release, which scanners read to know the release,
 * /tmp and /var/tmp, /root, /home), unless the list names it already.
 */
export const scratchPackages = (packages: readonly string[]): string[] =>
  packages.some((p) => p.split('=')[0] === 'base-files') ? [...packages] : ['base-files', ...packages];

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
  if (!spec.systemPackages?.length)
    throw new InputError(
      'SHALE_CONFIG_INVALID',
      `${file}: base = "scratch" needs \`system-packages\`, what the image is made of, like system-packages = ["python3"]`,
    );
}
