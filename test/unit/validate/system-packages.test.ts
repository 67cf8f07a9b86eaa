// `system-packages`: dpkg's records of the final image (status file or status.d) meet each
// other's Depends and conflict with nothing; what the base had wrong already is said, not failed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LayerEntry } from '../../../src/validate/layer-entries.js';
import type { ImageView, LayerView } from '../../../src/validate/result.js';
import { checkSystemPackages } from '../../../src/validate/system-packages.js';

const pkg = (name: string, version: string, more = ''): string =>
  `Package: ${name}\nStatus: install ok installed\nVersion: ${version}\nArchitecture: amd64\n${more}`;
const file = (path: string, text: string): LayerEntry => ({ path, type: 'file', mode: 0o644, text });
const layer = (name: string, shale: boolean, entries: LayerEntry[]): LayerView => ({ name, digest: `sha256:${name}`, shale, entries });
const image = (...layers: LayerView[]): ImageView => ({
  platform: { os: 'linux', architecture: 'amd64' },
  config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } },
  layers,
});
const BASE = [pkg('libc6', '2.36-9'), pkg('mawk', '1.3.4', 'Provides: awk\n'), pkg('old-tool', '1', 'Depends: gone-long-ago\n')].join('\n');
const base = layer('base', false, [file('/var/lib/dpkg/status', BASE)]);
const status = (...extra: string[]) => file('/var/lib/dpkg/status', [BASE, ...extra].join('\n'));

test("a system layer whose packages meet their Depends (through Provides too) passes, counting them; the base's own problem is said", () => {
  const r = checkSystemPackages([image(base, layer('system', true, [status(pkg('curl', '7.88', 'Depends: libc6 (>= 2.34), awk\n'))]))]);
  assert.equal(r.ok, true, r.reason);
  assert.match(r.reason, /^linux\/amd64: 4 packages \(1 from shale's layers\) meet each other's Depends/);
  assert.match(r.reason, /the base's own 1 problem\(s\) left as they were \(old-tool 1 needs gone-long-ago/);
});

test('an unmet Depends, a version too old and a conflict in what shale added fail, each named', () => {
  const r = checkSystemPackages([
    image(
      base,
      layer('system', true, [
        status(
          pkg('curl', '7.88', 'Depends: libcurl4 (= 7.88)\n'),
          pkg('needs-new-libc', '1', 'Depends: libc6 (>= 2.40)\n'),
          pkg('gawk', '5.2', 'Provides: awk\nConflicts: mawk\n'),
        ),
      ]),
    ),
  ]);
  assert.equal(r.ok, false);
  assert.deepEqual(r.problems, [
    'linux/amd64: curl 7.88 needs libcurl4 (= 7.88), which the image lacks',
    'linux/amd64: needs-new-libc 1 needs libc6 (>= 2.40), which the image lacks',
    'linux/amd64: gawk 5.2 conflicts with mawk 1.3.4 (mawk)',
  ]);
});

test("distroless' status.d is read; a package conflicting with a name it provides itself is no conflict; no dpkg records pass with a note", () => {
  const d = (name: string, text: string) => file(`/var/lib/dpkg/status.d/${name}`, text);
  const distroless = layer('base', false, [
    d('libc6', 'Package: libc6\nVersion: 2.36-9\nArchitecture: amd64\n'),
    file('/var/lib/dpkg/status.d/libc6.md5sums', 'x  y\n'),
  ]);
  const r = checkSystemPackages([
    image(
      distroless,
      layer('system', true, [
        d('postfix', 'Package: postfix\nVersion: 3.7\nArchitecture: amd64\nProvides: mail-transport-agent\nConflicts: mail-transport-agent\nDepends: libc6\n'),
      ]),
    ),
  ]);
  assert.equal(r.ok, true, r.reason);
  assert.match(r.reason, /2 packages \(1 from shale's layers\)/);
  const none = checkSystemPackages([image(layer('base', false, [file('/etc/os-release', 'ID=alpine\n')]))]);
  assert.equal(none.ok, true);
  assert.match(none.reason, /no dpkg records \(not a Debian-based image\)/);
});
