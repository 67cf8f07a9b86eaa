import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bufferEntry, type Entry } from '../../../src/layer/entry.js';
import { autoPackageLayers, checkUniqueNames, LARGE_WHEEL_BYTES, type PackageInput } from '../../../src/plan/layers.js';
import { InputError } from '../../../src/errors.js';
import { pythonLayout } from '../../../src/python/layout.js';

const layout = pythonLayout('official', '3.11');

/** A package whose entries() counts its calls, to show planning never installs. */
function pkg(name: string, size: number, pure: boolean, calls: string[]): PackageInput {
  return {
    name,
    version: '1.0',
    wheel: `${name}-1.0-py3-none-any.whl`,
    sha256: name.padEnd(64, '0'),
    pure,
    size,
    entries: (): Promise<Entry[]> => {
      calls.push(name);
      return Promise.resolve([bufferEntry(`site/${name}.py`, name)]);
    },
  };
}

test('automatic layers: wheels of at least 4 MB get their own layer; planning installs nothing', async () => {
  const calls: string[] = [];
  const pkgs = [pkg('big', LARGE_WHEEL_BYTES, false, calls), pkg('small', LARGE_WHEEL_BYTES - 1, true, calls), pkg('tiny', 10, true, calls)];
  const layers = autoPackageLayers(pkgs, layout, 0);
  assert.equal(LARGE_WHEEL_BYTES, 4 * 1024 * 1024);
  assert.deepEqual(layers.find((l) => l.name === 'pkg-big')?.createdBy, 'shale: pkg-big: big==1.0');
  assert.ok(layers.filter((l) => l.name.startsWith('deps-pure-')).length >= 1);
  assert.ok(!layers.some((l) => l.name.startsWith('deps-native-')));
  assert.deepEqual(calls, [], 'no entries() during planning');
  const all = (await Promise.all(layers.map((l) => l.entries()))).flat();
  assert.deepEqual(all.map((e) => e.path).sort(), ['site/big.py', 'site/small.py', 'site/tiny.py']);
  assert.deepEqual([...calls].sort(), ['big', 'small', 'tiny']);
});

test('package layer fingerprints depend on name, version, wheel and sha256, not on size', () => {
  const a = autoPackageLayers([pkg('big', LARGE_WHEEL_BYTES, false, [])], layout, 0);
  const b = autoPackageLayers([{ ...pkg('big', LARGE_WHEEL_BYTES + 1, false, []) }], layout, 0);
  assert.equal(a[0]?.fingerprint, b[0]?.fingerprint);
  assert.deepEqual(Object.keys(a[0]?.inputs.kind === 'packages' ? (a[0].inputs.wheels[0] ?? {}) : {}), ['name', 'version', 'wheel', 'sha256']);
});

test('package layer fingerprints with compile-bytecode include the compiler and change with it, and stay as they were without it', () => {
  // The compiling itself runs the machine's python3.11: test/e2e/python-host-bytecode.test.ts.
  const SITE = 'usr/local/lib/python3.11/dist-packages';
  const six = (bytecode?: string): PackageInput => ({
    name: 'six',
    version: '1.17.0',
    wheel: 'six-1.17.0-py2.py3-none-any.whl',
    sha256: 'a'.repeat(64),
    pure: true,
    size: 1000,
    ...(bytecode === undefined ? {} : { bytecode }),
    entries: async () => [bufferEntry(`${SITE}/six.py`, '')],
  });
  const fp = (p: PackageInput): string => autoPackageLayers([p], pythonLayout('debian', '3.11'), 0)[0]!.fingerprint;
  const plain = fp(six());
  const a = fp(six('cpython-311 3.11.7 magic=a70d0d0a unchecked-hash'));
  const b = fp(six('cpython-311 3.11.2 magic=a70d0d0a unchecked-hash'));
  assert.notEqual(plain, a);
  assert.notEqual(a, b);
  assert.equal(fp(six()), plain);
});

test('layer names are unique across the image: a system layer named like a package layer is an error naming it', () => {
  assert.doesNotThrow(() => checkUniqueNames([{ name: 'system' }, { name: 'pkg-numpy' }, { name: 'app' }], '/p/shale.toml'));
  assert.throws(
    () => checkUniqueNames([{ name: 'system' }, { name: 'pkg-numpy' }, { name: 'pkg-numpy' }, { name: 'app' }], '/p/shale.toml'),
    (e: unknown) => e instanceof InputError && e.code === 'SHALE_LAYER_NAME' && /\/p\/shale\.toml: two layers are named "pkg-numpy"/.test(e.message),
  );
});
