/**
 * Where an image's Python expects installed packages: the install scheme (purelib, platlib,
 * scripts, data, headers) of the image's own interpreter, as image-absolute paths.
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

/** Which Python the base image has: the official `python:*` images (/usr/local) or Debian's python3. */
export type PythonKind = 'official' | 'debian';

function shortVersion(python: string): string {
  const m = /^(\d+)\.(\d+)/.exec(python.trim());
  if (!m) {
    throw new InputError('SHALE_BAD_PYTHON', `Python version "${python}" is not of the form X.Y; set python = "3.11" (for example) in [tool.shale]`);
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

/** The Python of a base image: its kind and X.Y version. */
export interface DetectedPython {
  kind: PythonKind;
  python: string;
  layout: InstallLayout;
}

/**
 * Detects the layout from the base image's config Env: the official images set PYTHON_VERSION
 * (e.g. "3.11.9"); otherwise the base is taken to be Debian-like with python3 in /usr/bin, and
 * the version must come from `python` in [tool.shale]. A configured version that disagrees with
 * PYTHON_VERSION is an error, since wheels would be chosen for the wrong interpreter.
 */
export function detectPythonLayout(env: readonly string[], python?: string): DetectedPython {
  const fromEnv = env.find((e) => e.startsWith('PYTHON_VERSION='))?.slice('PYTHON_VERSION='.length);
  if (fromEnv) {
    const v = shortVersion(fromEnv);
    if (python !== undefined && shortVersion(python) !== v) {
      throw new InputError(
        'SHALE_PYTHON_MISMATCH',
        `python = "${python}" in [tool.shale] disagrees with the base image, which has Python ${fromEnv} (PYTHON_VERSION); set python = "${v}" or remove the key`,
      );
    }
    return { kind: 'official', python: v, layout: pythonLayout('official', v) };
  }
  if (python === undefined) {
    throw new InputError(
      'SHALE_PYTHON_UNKNOWN',
      'the base image does not say its Python version (no PYTHON_VERSION in its environment); set python = "3.11" (the version of its python3) in [tool.shale]',
    );
  }
  const v = shortVersion(python);
  return { kind: 'debian', python: v, layout: pythonLayout('debian', v) };
}
