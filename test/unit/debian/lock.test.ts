// system-packages.lock.toml: written sorted and stable, read back the same; a damaged or
// incomplete lock is an error naming the file and what to do.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatSystemLock, lockMatches, readSystemLock, SYSTEM_LOCK } from '../../../src/debian/lock.js';
import { cleanup, tempDir } from '../python/helpers.js';

const deb = (name: string, architecture = 'amd64') => ({
  name,
  version: '1.0-1',
  architecture,
  filename: `pool/main/${name[0]}/${name}/${name}_1.0-1_${architecture}.deb`,
  sha256: 'ab'.repeat(32),
  size: 10,
  uri: 'http://deb.debian.org/debian',
  layer: 'system',
});
const sys = (...packages: string[]) => [{ name: 'system', packages }];

describe('the system-packages lock', () => {
  it('round-trips, sorted by platform and name', async () => {
    const dir = await tempDir();
    try {
      const lock = {
        request: sys('curl', 'libpq5'),
        platforms: [
          { platform: 'linux/arm64', base: 'sha256:b', packages: [deb('libpq5', 'arm64'), deb('curl', 'arm64')] },
          { platform: 'linux/amd64', base: 'sha256:a', packages: [deb('curl')] },
        ],
      };
      const text = formatSystemLock(lock);
      assert.equal(formatSystemLock({ ...lock, platforms: [...lock.platforms].reverse() }), text, 'stable bytes');
      await writeFile(join(dir, SYSTEM_LOCK), text);
      const back = await readSystemLock(dir);
      assert.deepEqual(
        back?.platforms.map((p) => `${p.platform}: ${p.packages.map((d) => d.name).join(' ')}`),
        ['linux/amd64: curl', 'linux/arm64: curl libpq5'],
      );
      assert.ok(lockMatches(back!, sys('libpq5', 'curl')));
      assert.ok(!lockMatches(back!, sys('curl')));
      assert.ok(!lockMatches(back!, [{ name: 'pq', packages: ['libpq5', 'curl'] }]), 'the same packages in another layer');
      assert.ok(!text.includes('layer'), 'a lock of the top-level system-packages alone reads as before');
    } finally {
      await cleanup(dir);
    }
  });
  it("keeps each [[layers]] entry's request and every package's layer; a lock of older shale (no layers) reads as the top-level one", async () => {
    const dir = await tempDir();
    try {
      const request = [...sys('curl'), { name: 'media', packages: ['ffmpeg'] }, { name: 'fonts', packages: ['fonts-dejavu-core'] }];
      const lock = {
        request,
        platforms: [
          {
            platform: 'linux/amd64',
            base: 'sha256:a',
            packages: [deb('curl'), { ...deb('ffmpeg'), layer: 'media' }, { ...deb('fonts-dejavu-core'), layer: 'fonts' }],
          },
        ],
      };
      const text = formatSystemLock(lock);
      assert.match(text, /\[\[layer\]\]\nname = "media"\nrequest = \[ "ffmpeg" \]/);
      await writeFile(join(dir, SYSTEM_LOCK), text);
      const back = (await readSystemLock(dir))!;
      assert.deepEqual(back.request, request);
      assert.deepEqual(
        back.platforms[0]!.packages.map((d) => `${d.name}@${d.layer}`),
        ['curl@system', 'ffmpeg@media', 'fonts-dejavu-core@fonts'],
      );
      assert.ok(lockMatches(back, request));
      assert.ok(!lockMatches(back, [request[0]!, request[2]!, request[1]!]), "the layers' order matters: it decides where a package lands");
      const onlyLayers = [{ name: 'os', packages: ['python3'] }];
      assert.deepEqual(formatSystemLock({ request: onlyLayers, platforms: [] }).match(/^request = .*$/m)?.[0], 'request = []');

      await writeFile(join(dir, SYSTEM_LOCK), 'version = 1\nrequest = ["curl"]\n[[platform]]\nplatform = "linux/amd64"\nbase = "x"\npackage = []\n');
      assert.deepEqual((await readSystemLock(dir))!.request, sys('curl'));
      await writeFile(join(dir, SYSTEM_LOCK), 'version = 1\nrequest = []\n[[layer]]\nname = "os"\n[[platform]]\nplatform = "linux/amd64"\nbase = "x"\n');
      await assert.rejects(readSystemLock(dir), /a \[\[layer\]\] without name or request; run `shale lock`/);
    } finally {
      await cleanup(dir);
    }
  });
  it('is absent without a file, and an error naming the file when damaged', async () => {
    const dir = await tempDir();
    try {
      assert.equal(await readSystemLock(dir), undefined);
      await writeFile(
        join(dir, SYSTEM_LOCK),
        'version = 1\nrequest = ["curl"]\n[[platform]]\nplatform = "linux/amd64"\nbase = "x"\n[[platform.package]]\nname = "curl"\n',
      );
      await assert.rejects(readSystemLock(dir), /system-packages\.lock\.toml: a package entry of linux\/amd64 is incomplete; run `shale lock`/);
      await writeFile(join(dir, SYSTEM_LOCK), 'version = [');
      await assert.rejects(readSystemLock(dir), /not valid TOML/);
    } finally {
      await cleanup(dir);
    }
  });
});
