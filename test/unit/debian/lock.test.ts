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
});

describe('the system-packages lock', () => {
  it('round-trips, sorted by platform and name', async () => {
    const dir = await tempDir();
    try {
      const lock = {
        request: ['curl', 'libpq5'],
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
      assert.ok(lockMatches(back!, ['libpq5', 'curl']));
      assert.ok(!lockMatches(back!, ['curl']));
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
