/** Test helper: PackageInputs backed by real wheels (made by makeWheel; name `evil_six` is package `evil-six`), installed as a build would. */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Entry } from '../../../src/layer/entry.js';
import type { PackageInput } from '../../../src/plan/layers.js';
import { bytecodeKey, compileBytecode } from '../../../src/python/bytecode.js';
import type { HostPython } from '../../../src/python/host-python.js';
import { installWheel } from '../../../src/python/install.js';
import type { InstallLayout } from '../../../src/python/layout.js';
import { normalizeName } from '../../../src/python/names.js';
import { makeWheel, type WheelSpec } from '../python/helpers.js';

/**
 * A package from a real wheel in `dir`: `entries()` installs it for `layout` (compiling bytecode
 * with `py`), and pushes its name on `calls` each time it is asked, so a test can see whether a
 * check installed it.
 */
export async function wheelPackage(
  dir: string,
  spec: WheelSpec,
  layout: InstallLayout,
  opts: { calls?: string[]; py?: HostPython } = {},
): Promise<PackageInput> {
  const { path, filename } = makeWheel(dir, spec);
  const sha256 = createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
  const size = (await readFile(path)).length;
  const { py } = opts;
  return {
    name: normalizeName(spec.name),
    version: spec.version,
    wheel: filename,
    sha256,
    pure: true,
    size,
    ...(py ? { bytecode: bytecodeKey(py) } : {}),
    entries: async (): Promise<Entry[]> => {
      opts.calls?.push(spec.name);
      const dist = await installWheel({ path, filename, sha256, pure: true }, layout);
      return py ? (await compileBytecode(dist, layout, py)).dist.entries : dist.entries;
    },
  };
}
