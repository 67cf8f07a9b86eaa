// Self-test of the e2e infrastructure: if this fails, the machine (not shale) is at fault, and
// every other e2e failure should be read in that light.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureBaseImage, ensureBaseLayout } from './support/base-image.js';
import { run } from './support/exec.js';
import { ensureFastapiWheels, ensureRealWheels, REAL_WHEEL_NAMES, type WheelSet } from './support/wheels.js';
import { podmanRun, removeImages, skopeoInspect, umociStat } from './support/podman.js';
import { startRegistry, type Registry } from './support/registry.js';

describe('e2e support: registry, base image, podman', () => {
  let registry: Registry;
  let base: { ref: string; digest: string };

  before(async () => {
    registry = await startRegistry();
    base = await ensureBaseImage(registry.host);
  });
  after(async () => {
    if (base) await removeImages(base.ref);
    await registry?.stop();
  });

  it('serves the base image as library/python:3.11-slim', async () => {
    assert.equal(base.ref, `${registry.host}/library/python:3.11-slim`);
    const info = await skopeoInspect(base.ref);
    assert.equal(info.Digest, base.digest);
    assert.equal(info.Architecture, 'amd64');
    assert.equal(info.Os, 'linux');
    assert.equal(info.Layers.length, 1);
    assert.ok(info.Env?.some((e) => e.startsWith('PATH=/usr/local/sbin:')));
  });

  it('has a layout that umoci reads', async () => {
    const layout = await ensureBaseLayout();
    const stat = await umociStat(layout.dir, layout.tag);
    assert.equal(stat.history.length, 1);
    assert.match(stat.history[0]?.created_by ?? '', /^mmdebstrap /);
  });

  it('runs Debian python3 under podman', async () => {
    const r = await podmanRun(base.ref, ['python3', '-c', 'import sys, ssl; print(1+1, sys.version_info[:2])']);
    assert.equal(r.stdout.trim(), '2 (3, 11)');
  });
});

describe('e2e support: registry with htpasswd and TLS', () => {
  const creds = { user: 'shale', password: 's3cret-pw' };
  let registry: Registry;

  before(async () => {
    registry = await startRegistry({ htpasswd: creds, tls: true });
  });
  after(async () => {
    await registry?.stop();
  });

  it('refuses anonymous access', async () => {
    assert.ok(registry.caFile);
    const r = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', registry.caFile, `${registry.url}/v2/`]);
    assert.equal(r.stdout, '401');
  });

  it('refuses an anonymous push and accepts an authenticated one', async () => {
    await assert.rejects(ensureBaseImage(registry.host), /unauthorized|authentication required|401/i);
    const pushed = await ensureBaseImage(registry.host, { creds, repository: 'private/python' });
    const info = await skopeoInspect(pushed.ref, { creds });
    assert.equal(info.Digest, pushed.digest);
  });
});

/** requirements.txt lines as [name, version, sha256 hex]. */
async function pins(set: WheelSet): Promise<[string, string, string][]> {
  const text = await readFile(set.requirements, 'utf8');
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const m = /^([a-z0-9-]+)==(\S+) --hash=sha256:([0-9a-f]{64})$/.exec(line);
      assert.ok(m, `bad requirements line: ${line}`);
      return [m[1] ?? '', m[2] ?? '', m[3] ?? ''];
    });
}

async function assertHashesMatch(set: WheelSet): Promise<void> {
  const hashes = new Set((await pins(set)).map((p) => p[2]));
  const wheels = (await readdir(set.dir)).filter((f) => f.endsWith('.whl'));
  assert.equal(wheels.length, hashes.size);
  for (const w of wheels) {
    const hex = createHash('sha256')
      .update(await readFile(join(set.dir, w)))
      .digest('hex');
    assert.ok(hashes.has(hex), `${w} is not pinned by its hash in ${set.requirements}`);
  }
}

describe('e2e support: real wheels', () => {
  it("repacks the machine's distributions, native tags kept", async () => {
    const set = await ensureRealWheels();
    assert.equal((await pins(set)).length, REAL_WHEEL_NAMES.length);
    await assertHashesMatch(set);
    const files = await readdir(set.dir);
    assert.ok(
      files.some((f) => /^numpy-.*-cp3\d+-cp3\d+-manylinux.*x86_64.*\.whl$/.test(f)),
      files.join(' '),
    );
    assert.ok(files.some((f) => /^flask-.*-py3-none-any\.whl$/.test(f)));
  });

  it("makes FastAPI wheels from Debian that run under the base image's python", async () => {
    const set = await ensureFastapiWheels();
    const names = (await pins(set)).map((p) => p[0]);
    for (const n of ['fastapi', 'starlette', 'uvicorn', 'pydantic', 'anyio', 'h11']) assert.ok(names.includes(n), n);
    await assertHashesMatch(set);

    // Install with pip (the reference installer) and import it all with Debian's python3.
    const site = await mkdtemp(join(tmpdir(), 'shale-site-'));
    const registry = await startRegistry();
    try {
      await run('python3', [
        '-m',
        'pip',
        'install',
        '--quiet',
        '--disable-pip-version-check',
        '--no-index',
        '--no-compile',
        '--find-links',
        set.dir,
        '--target',
        site,
        '--require-hashes',
        '-r',
        set.requirements,
      ]);
      const base = await ensureBaseImage(registry.host);
      const r = await podmanRun(base.ref, ['python3', '-c', 'import fastapi, uvicorn, pydantic; print(fastapi.__version__, pydantic.VERSION)'], {
        volumes: [`${site}:/site:ro`],
        env: { PYTHONPATH: '/site' },
      });
      assert.match(r.stdout.trim(), /^0\.92\.\d+ 1\.10\.\d+$/);
      await removeImages(base.ref);
    } finally {
      await registry.stop();
      await rm(site, { recursive: true, force: true });
    }
  });
});
