import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadBuildSpec } from '../../../src/config/load.js';
import { isScratch, withScratchPackages } from '../../../src/config/scratch.js';
import { InputError } from '../../../src/errors.js';
import { writeProject } from '../../support/project.js';
import { testSpec } from '../../support/spec.js';
import type { BuildSpec } from '../../../src/config/spec.js';

const scratch = '[tool.shale]\nname = "hello"\nbase = "scratch"\n';

async function inputError(files: Record<string, string>, pattern: RegExp): Promise<void> {
  const dir = await writeProject({ 'main.py': '', ...files });
  await assert.rejects(loadBuildSpec(dir), (e: unknown) => {
    assert.ok(e instanceof InputError, `expected InputError, got ${String(e)}`);
    assert.equal(e.exitCode, 2);
    assert.match(e.message, pattern);
    return true;
  });
}

test('base = "scratch" with distribution and system-packages: the spec carries them', async () => {
  const dir = await writeProject({
    'pyproject.toml': `${scratch}distribution = "debian:bookworm"\nsystem-packages = ["python3"]\n`,
    'main.py': '',
  });
  const spec = await loadBuildSpec(dir);
  assert.ok(isScratch(spec));
  assert.equal(spec.distribution, 'debian:bookworm');
  assert.deepEqual(spec.systemPackages, ['base-files', 'python3'], "Debian's skeleton first: /etc/os-release, /tmp");
  assert.equal(spec.aptSources, undefined, "Debian's archive unless apt-sources says otherwise (decided at build time)");
});

test('base = "scratch" needs distribution and system-packages; distribution is only for scratch; its form is checked', async () => {
  await inputError(
    { 'pyproject.toml': `${scratch}system-packages = ["python3"]\n` },
    /base = "scratch" needs `\[tool\.shale\]\.distribution`.*"debian:bookworm"/,
  );
  await inputError({ 'pyproject.toml': `${scratch}distribution = "debian:bookworm"\n` }, /base = "scratch" needs `system-packages`.*\["python3"\]/);
  await inputError(
    { 'pyproject.toml': '[tool.shale]\nname = "h"\nbase = "python:3.11-slim"\ndistribution = "debian:bookworm"\n' },
    /`\[tool\.shale\]\.distribution` is only for base = "scratch".*python:3\.11-slim/,
  );
  await inputError({ 'pyproject.toml': `${scratch}distribution = "bookworm"\nsystem-packages = ["python3"]\n` }, /distribution.*"debian:bookworm"/);
});

test('withScratchPackages puts base-files first in the lowest system layer unless some layer names it (pinned or not)', () => {
  const spec = (s: Partial<BuildSpec>): BuildSpec => testSpec({ base: 'scratch', ...s });
  const top = spec({ systemPackages: ['python3'] });
  withScratchPackages(top);
  assert.deepEqual(top.systemPackages, ['base-files', 'python3']);
  const pinned = spec({ systemPackages: ['python3', 'base-files=12.4+deb12u5'] });
  withScratchPackages(pinned);
  assert.deepEqual(pinned.systemPackages, ['python3', 'base-files=12.4+deb12u5']);
  const layered = spec({
    systemLayers: [
      { name: 'os', packages: ['python3'] },
      { name: 'media', packages: ['ffmpeg'] },
    ],
  });
  withScratchPackages(layered);
  assert.deepEqual(layered.systemLayers, [
    { name: 'os', packages: ['base-files', 'python3'] },
    { name: 'media', packages: ['ffmpeg'] },
  ]);
  const named = spec({
    systemLayers: [
      { name: 'os', packages: ['python3'] },
      { name: 'skel', packages: ['base-files'] },
    ],
  });
  withScratchPackages(named);
  assert.deepEqual(named.systemLayers![0]!.packages, ['python3']);
});

test('base = "scratch" with only [[layers]] system-packages is complete', async () => {
  const dir = await writeProject({
    'pyproject.toml': `${scratch}distribution = "debian:bookworm"\n[[tool.shale.layers]]\nname = "os"\nsystem-packages = ["python3"]\n`,
    'main.py': '',
  });
  const spec = await loadBuildSpec(dir);
  assert.equal(spec.systemPackages, undefined);
  assert.deepEqual(spec.systemLayers, [{ name: 'os', packages: ['base-files', 'python3'] }]);
  assert.equal(spec.layers, undefined, 'no Python layering named: shale chooses');
});
