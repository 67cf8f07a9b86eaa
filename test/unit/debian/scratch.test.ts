import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isEmptySystem } from '../../../src/debian/base-system.js';
import { HOST_DEBIAN_KEYRING, scratchFacts, scratchLibc, scratchPython, scratchSources, scratchSystem } from '../../../src/debian/scratch.js';
import { InputError } from '../../../src/errors.js';
import { scratchBase } from '../../../src/pipeline/steps/resolve-base.js';

test("a scratch base's facts come from the resolved packages: python3's X.Y (Debian's layout), libc6's glibc version", () => {
  const pins = [
    { name: 'libc6', version: '2.36-9+deb12u10' },
    { name: 'python3', version: '3.11.2-1+b1' },
    { name: 'python3.11', version: '3.11.2-6+deb12u6' },
  ];
  assert.deepEqual(scratchPython(pins), { version: '3.11', kind: 'debian', evidence: 'python3 3.11.2-1+b1 (system-packages)' });
  assert.deepEqual(scratchLibc(pins), { kind: 'glibc', version: [2, 36] });
  assert.equal(scratchPython([{ name: 'python3', version: '1:3.13.5-1' }])?.version, '3.13', 'an epoch is skipped');
  assert.equal(scratchPython([{ name: 'python3.11', version: '3.11.2-6' }]), undefined, 'only python3 decides');
  assert.equal(scratchLibc([{ name: 'musl', version: '1.2.3-1' }]), undefined);
});

test('a scratch system is empty (status.d form), of the distribution, with no merged-/usr links', () => {
  const s = scratchSystem('debian:bookworm');
  assert.deepEqual(s.osRelease, { ID: 'debian', VERSION_CODENAME: 'bookworm' });
  assert.equal(s.status, undefined);
  assert.ok(isEmptySystem(s));
  assert.deepEqual(s.rootLinks, {});
});

test("scratch sources: apt-sources as given, else Debian's archive signed-by the host keyring, else an error saying what to set", () => {
  const own = ['deb [signed-by=k.gpg] http://mirror/debian bookworm main'];
  assert.equal(
    scratchSources('debian:bookworm', 'pyproject.toml', own, () => false),
    own,
  );
  assert.deepEqual(
    scratchSources('debian:trixie', 'pyproject.toml', undefined, (p) => p === HOST_DEBIAN_KEYRING),
    [`deb [signed-by=${HOST_DEBIAN_KEYRING}] http://deb.debian.org/debian trixie main`],
  );
  assert.throws(
    () => scratchSources('debian:bookworm', 'pyproject.toml', undefined, () => false),
    (e: unknown) => e instanceof InputError && /debian-archive-keyring/.test(e.message) && /apt-sources = \["deb \[signed-by=FILE\]/.test(e.message),
  );
});

test('the scratch base: no layer, the usual PATH, no user, the platform asked for, a stable digest per distribution and platform', () => {
  const arm = { os: 'linux', architecture: 'arm64', variant: 'v8' };
  const b = scratchBase('debian:bookworm', arm);
  assert.equal(b.name, 'scratch');
  assert.deepEqual(b.layers, []);
  assert.equal(b.config.architecture, 'arm64');
  assert.equal(b.config.variant, 'v8');
  assert.deepEqual(b.config.rootfs.diff_ids, []);
  assert.equal(b.config.config?.User, undefined);
  assert.match(b.config.config?.Env?.[0] ?? '', /^PATH=.*\/usr\/bin/);
  assert.equal(scratchBase('debian:bookworm', arm).digest, b.digest);
  assert.notEqual(scratchBase('debian:trixie', arm).digest, b.digest);
  assert.notEqual(scratchBase('debian:bookworm', { os: 'linux', architecture: 'amd64' }).digest, b.digest);
});

test('scratch facts: libc from the config wins; no python3 when Python is needed, or another X.Y than `python`, is exit 2 saying what to do', () => {
  const pins = [
    { name: 'libc6', version: '2.36-9+deb12u10' },
    { name: 'python3', version: '3.11.2-1+b1' },
  ];
  const config = { configFile: 'pyproject.toml', distribution: 'debian:bookworm' };
  assert.deepEqual(scratchFacts(pins, config, { libc: true, python: true }), {
    libc: { kind: 'glibc', version: [2, 36] },
    python: { version: '3.11', kind: 'debian', evidence: 'python3 3.11.2-1+b1 (system-packages)' },
  });
  assert.deepEqual(scratchFacts(pins, { ...config, libc: { kind: 'glibc', version: [2, 28] } }, { libc: true, python: false }).libc, {
    kind: 'glibc',
    version: [2, 28],
  });
  const libcOnly = [pins[0]!];
  assert.equal(scratchFacts(libcOnly, config, { libc: false, python: false }).python, undefined, 'no Python needed: none asked for');
  assert.throws(
    () => scratchFacts(libcOnly, config, { libc: true, python: true }),
    (e: unknown) => e instanceof InputError && e.exitCode === 2 && /add "python3" to system-packages/.test(e.message),
  );
  assert.throws(
    () => scratchFacts(pins, { ...config, python: '3.12' }, { libc: false, python: false }),
    (e: unknown) => e instanceof InputError && /3\.12/.test(e.message) && /3\.11/.test(e.message),
  );
  assert.throws(() => scratchFacts([pins[1]!], config, { libc: true, python: false }), InputError);
});
