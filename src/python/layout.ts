/**
 * Where an image's Python expects installed packages: the install scheme (purelib, platlib,
 * scripts, data, headers) of the image's own interpreter, as image-absolute paths. Which
 * interpreter a base has is a base-image fact (src/base/python.ts).
 */
import { InputError } from '../errors.js';

/** Image-absolute install directories, like sysconfig's scheme paths for the image's python. */
export interface InstallLayout {
  /** e.g. '/usr/local/lib/python3.11/site-packages' */
  purelib: string;
  platlib: string;
  /** Console scripts and `.data/scripts` go here ('/usr/local/bin'). */
  scripts: string;
  /** `.data/data` files go here, relative paths kept ('/usr/local'). */
  data: string;
  /** Parent of per-distribution header dirs: `.data/headers/x.h` → `<headers>/<name>/x.h`. */
  headers: string;
  /** The shebang written into scripts ('/usr/local/bin/python3'). */
  interpreter: string;
}

/**
 * Which Python the base image has: a CPython built into /usr/local (the official `python:*`
 * images) or Debian's python3 in /usr/bin (Debian, Ubuntu).
 */
export type PythonKind = 'official' | 'debian';

/** "3.11.9" → "3.11"; an InputError when the text does not start with X.Y. */
export function shortVersion(python: string): string {
  const m = /^(\d+)\.(\d+)/.exec(python.trim());
  if (!m) {
    throw new InputError(
      'SHALE_BAD_PYTHON',
      `Python version "${python}" is not of the form X.Y; write python = "3.11" (for example) in [tool.shale], or leave the key out: shale reads the version from the base image`,
    );
  }
  return `${m[1]}.${m[2]}`;
}

/**
 * The install layout for a kind of base image and a Python version. Debian's python3 reads
 * /usr/local/lib/pythonX.Y/dist-packages (its site.py adds it), which is where Debian's own pip
 * installs too, and leaves /usr/lib/python3/dist-packages to apt.
 */
export function pythonLayout(kind: PythonKind, python: string): InstallLayout {
  const v = shortVersion(python);
  const site = kind === 'official' ? `/usr/local/lib/python${v}/site-packages` : `/usr/local/lib/python${v}/dist-packages`;
  return {
    purelib: site,
    platlib: site,
    scripts: '/usr/local/bin',
    data: '/usr/local',
    headers: `/usr/local/include/python${v}`,
    interpreter: kind === 'official' ? '/usr/local/bin/python3' : '/usr/bin/python3',
  };
}
