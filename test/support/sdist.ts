/**
 * Source distributions for tests: .tar.gz files with exactly the members given (hostile ones
 * too), and small sdists whose in-tree PEP 517 backend zips the wheel itself, so a build needs
 * no setuptools or `wheel` on the host.
 */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';

export interface TarMember {
  name: string;
  data?: string;
  type?: 'file' | 'directory' | 'symlink';
  linkname?: string;
}

/** Writes a .tar.gz with exactly these members (names unchecked, so hostile ones can be made). */
export async function writeTarGz(path: string, members: TarMember[]): Promise<void> {
  const pack = tar.pack();
  const done = pipeline(pack, createGzip(), createWriteStream(path));
  for (const m of members) {
    const type = m.type ?? 'file';
    const header = { name: m.name, mode: type === 'directory' ? 0o755 : 0o644, mtime: new Date(0), type, ...(m.linkname ? { linkname: m.linkname } : {}) };
    if (type === 'file') pack.entry(header, Buffer.from(m.data ?? ''));
    else pack.entry(header);
  }
  pack.finalize();
  await done;
}

/**
 * An in-tree PEP 517 backend that zips the wheel itself, so the test needs no setuptools or
 * `wheel` on the host: `tag` decides pure or native, `fail` makes the build fail.
 */
export function backend(name: string, tag: string, fail = false): string {
  return `import base64, hashlib, os, time, zipfile
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    if ${fail ? 'True' : 'False'}:
        raise SystemExit("${name}: this build fails on purpose")
    di = "${name}-1.0.dist-info"
    files = {"${name}/__init__.py": open("src/${name}/__init__.py", "rb").read(),
             di + "/METADATA": b"Metadata-Version: 2.1\\nName: ${name}\\nVersion: 1.0\\n",
             di + "/build-env": ("%s %s" % (os.environ["SOURCE_DATE_EPOCH"], os.environ["PYTHONHASHSEED"])).encode(),
             di + "/WHEEL": b"Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: ${tag.endsWith('-any') ? 'true' : 'false'}\\nTag: ${tag}\\n"}
    h = lambda d: "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b"=").decode()
    rec = "".join("%s,%s,%d\\n" % (n, h(d), len(d)) for n, d in files.items()) + di + "/RECORD,,\\n"
    files[di + "/RECORD"] = rec.encode()
    fn = "${name}-1.0-${tag}.whl"
    stamp = time.gmtime(int(os.environ["SOURCE_DATE_EPOCH"]))[:6]
    with zipfile.ZipFile(os.path.join(wheel_directory, fn), "w") as z:
        for n, d in files.items():
            z.writestr(zipfile.ZipInfo(n, stamp), d)
    return fn
`;
}

/** The members of a small sdist `<name>-1.0/` built by {@link backend}. */
export function sdistMembers(name: string, tag = 'py3-none-any', fail = false): TarMember[] {
  const root = `${name}-1.0`;
  return [
    { name: `${root}/`, type: 'directory' },
    { name: `${root}/pyproject.toml`, data: `[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n` },
    { name: `${root}/backend.py`, data: backend(name, tag, fail) },
    { name: `${root}/PKG-INFO`, data: `Metadata-Version: 2.1\nName: ${name}\nVersion: 1.0\n` },
    { name: `${root}/src/${name}/__init__.py`, data: `GREETING = "hello from ${name}"\n` },
  ];
}

/** Runs fn with SHALE_PYTHON set (or unset), restoring it after. */
export async function withPython<T>(py: string | undefined, fn: () => Promise<T>): Promise<T> {
  const old = process.env['SHALE_PYTHON'];
  if (py === undefined) delete process.env['SHALE_PYTHON'];
  else process.env['SHALE_PYTHON'] = py;
  try {
    return await fn();
  } finally {
    if (old === undefined) delete process.env['SHALE_PYTHON'];
    else process.env['SHALE_PYTHON'] = old;
  }
}
