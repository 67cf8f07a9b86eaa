// Resolution against the base's dpkg status: what is installed is not installed again; Depends
// and Pre-Depends followed; alternatives, virtual packages and version constraints; errors that
// name close packages and the chain to an unsatisfiable dependency.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { indexOf } from '../../../src/debian/package-index.js';
import { installedOf, resolveGroups, resolvePackages } from '../../../src/debian/resolve.js';
import { InputError } from '../../../src/errors.js';

const pkg = (name: string, version: string, more = ''): string =>
  `Package: ${name}\nVersion: ${version}\nArchitecture: amd64\nFilename: pool/${name}_${version}.deb\nSize: 10\nSHA256: ${'a'.repeat(64)}\n${more}`;

const INDEX = [
  pkg('curl', '7.88.1-10', 'Depends: libcurl4 (= 7.88.1-10), libc6 (>= 2.34)'),
  pkg('libcurl4', '7.88.1-10', 'Depends: libssl3 (>= 3.0.0), libnghttp2-14 | libnghttp2-old, libc6'),
  pkg('libnghttp2-14', '1.52.0-1'),
  pkg('libssl3', '3.0.15-1'),
  pkg('libssl3', '3.0.11-1'),
  pkg('libc6', '2.36-9+deb12u9'),
  pkg('mawk', '1.3.4', 'Provides: awk'),
  pkg('gawk', '5.2.1', 'Provides: awk'),
  pkg('needs-awk', '1', 'Pre-Depends: awk'),
  pkg('needs-new-libc', '1', 'Depends: libc6 (>= 2.40)'),
  pkg('wrapper', '1', 'Depends: needs-new-libc'),
  pkg('mail-client', '1', 'Depends: mail-transport-agent'),
  pkg('postfix', '3.7', 'Provides: mail-transport-agent'),
].join('\n\n');

const STATUS = [
  'Package: libc6\nStatus: install ok installed\nVersion: 2.36-9+deb12u4\nArchitecture: amd64\n',
  'Package: libssl3\nStatus: install ok installed\nVersion: 3.0.11-1\nArchitecture: amd64\n',
  'Package: removed-one\nStatus: deinstall ok config-files\nVersion: 1\nArchitecture: amd64\n',
].join('\n\n');

const resolve = (req: string[], status = STATUS, statusD: Record<string, string> = {}) =>
  resolvePackages(req, indexOf(INDEX), installedOf(status, statusD), 'pyproject.toml: system-packages');
const names = (r: ReturnType<typeof resolve>): string[] => r.install.map((c) => `${c.pkg.name}=${c.pkg.version}`);

describe('resolvePackages', () => {
  it('installs what the base lacks, and only that', () => {
    const r = resolve(['curl']);
    assert.deepEqual(names(r), ['curl=7.88.1-10', 'libcurl4=7.88.1-10', 'libnghttp2-14=1.52.0-1']);
    assert.deepEqual(r.install.find((c) => c.pkg.name === 'libnghttp2-14')!.chain, ['curl 7.88.1-10', 'libcurl4 7.88.1-10']);
  });
  it('a package the base has is not installed again; packages in state "config-files" do not count', () => {
    assert.deepEqual(resolve(['libc6', 'libssl3']), { install: [], alreadyInstalled: ['libc6', 'libssl3'] });
    assert.deepEqual(names(resolve(['curl'], '')), [
      'curl=7.88.1-10',
      'libc6=2.36-9+deb12u9',
      'libcurl4=7.88.1-10',
      'libnghttp2-14=1.52.0-1',
      'libssl3=3.0.15-1',
    ]);
  });
  it('reads distroless status.d files as installed', () => {
    const r = resolve(['curl'], '', {
      libc6: 'Package: libc6\nVersion: 2.36-9\nArchitecture: amd64\n',
      'libc6.md5sums': 'x  y\n',
      libssl3: 'Package: libssl3\nVersion: 3.0.11-1\nArchitecture: amd64\n',
    });
    assert.deepEqual(names(r), ['curl=7.88.1-10', 'libcurl4=7.88.1-10', 'libnghttp2-14=1.52.0-1']);
  });
  it('an installed package too old for a constraint is replaced by a newer one from the index', () => {
    const status = STATUS.replace('Version: 3.0.11-1', 'Version: 2.0');
    const r = resolve(['curl'], status);
    const ssl = r.install.find((c) => c.pkg.name === 'libssl3');
    assert.equal(ssl?.pkg.version, '3.0.15-1');
    assert.equal(ssl?.replaces, '2.0');
  });
  it('a virtual package is satisfied by a provider (the first by name), or by one already chosen', () => {
    assert.deepEqual(names(resolve(['needs-awk'])), ['gawk=5.2.1', 'needs-awk=1']);
    assert.deepEqual(names(resolve(['mawk', 'needs-awk'])), ['mawk=1.3.4', 'needs-awk=1']);
    assert.deepEqual(names(resolve(['mail-client'])), ['mail-client=1', 'postfix=3.7']);
  });
  it('pins a version with name=version', () => {
    assert.deepEqual(names(resolve(['libssl3=3.0.15-1'])), ['libssl3=3.0.15-1']);
    assert.throws(() => resolve(['libssl3=9']), /"libssl3" has no version 9 in the package index \(it has 3\.0\.15-1, 3\.0\.11-1\)/);
  });
  it('an unknown package lists close names; a virtual one its providers', () => {
    assert.throws(
      () => resolve(['libcurl']),
      (e: Error & { exitCode?: number }) => {
        assert.equal(e.exitCode, 2);
        assert.match(e.message, /pyproject\.toml: system-packages: no Debian package "libcurl" in the package index; close names: libcurl4/);
        return true;
      },
    );
    assert.throws(() => resolve(['awk']), /"awk" is a virtual package, provided by gawk, mawk; name one of them/);
  });
  it('an unsatisfiable dependency names the chain and what there is', () => {
    assert.throws(
      () => resolve(['wrapper']),
      /wrapper 1 → needs-new-libc 1 needs libc6 \(>= 2\.40\), which nothing satisfies \(libc6: the index has 2\.36-9\+deb12u9; the base has 2\.36-9\+deb12u4/,
    );
  });
  it('resolves system layers lowest first: what a lower layer installs is installed for the ones above', () => {
    const groups = resolveGroups(
      [
        { name: 'system', packages: ['libcurl4'] },
        { name: 'net', packages: ['curl', 'needs-awk'] },
        { name: 'again', packages: ['libnghttp2-14'] },
      ],
      indexOf(INDEX),
      installedOf(STATUS, {}),
      (g) => `pyproject.toml: layer "${g}" system-packages`,
    );
    assert.deepEqual(
      groups.map((g) => `${g.name}: ${names(g).join(' ')}`),
      ['system: libcurl4=7.88.1-10 libnghttp2-14=1.52.0-1', 'net: curl=7.88.1-10 gawk=5.2.1 needs-awk=1', 'again: '],
      "curl's libcurl4 and libnghttp2-14 come from the layer below; each package lands in the lowest layer that needs it",
    );
    assert.deepEqual(groups[2]!.alreadyInstalled, ['libnghttp2-14']);
    assert.throws(
      () =>
        resolveGroups(
          [{ name: 'mail', packages: ['wrapper'] }],
          indexOf(INDEX),
          installedOf(STATUS, {}),
          (g) => `pyproject.toml: layer "${g}" system-packages`,
        ),
      /pyproject\.toml: layer "mail" system-packages: wrapper 1 → needs-new-libc 1 needs libc6 \(>= 2\.40\)/,
    );
  });
  describe('keeps the result consistent, as apt would', () => {
    const index = [
      pkg('libssl3', '3.0.15-1'),
      pkg('openssl', '3.0.15-1', 'Depends: libssl3 (= 3.0.15-1)'),
      pkg('needs-new-ssl', '1', 'Depends: libssl3 (>= 3.0.15)'),
      pkg('libxml2', '2.9.14-2', 'Depends: libicu72'),
      pkg('libicu72', '72.1-3'),
      pkg('needs-new-xml', '1', 'Depends: libxml2 (>= 2.9.14-2)'),
      pkg('postfix', '3.7', 'Provides: mail-transport-agent\nConflicts: mail-transport-agent'),
      pkg('lib-b', '2', 'Breaks: tool (<< 2)'),
      pkg('tool', '2'),
      pkg('lib-c', '2', 'Breaks: stuck (<< 2)'),
      pkg('a', '1', 'Conflicts: b'),
      pkg('b', '1'),
    ].join('\n\n');
    const base = [
      'Package: libssl3\nStatus: install ok installed\nVersion: 3.0.11-1\nArchitecture: amd64\n',
      'Package: openssl\nStatus: install ok installed\nVersion: 3.0.11-1\nArchitecture: amd64\nDepends: libssl3 (= 3.0.11-1)\n',
      'Package: libxml2\nStatus: install ok installed\nVersion: 2.9.14-1\nArchitecture: amd64\n',
      'Package: xmltool\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\nDepends: libxml2 (<< 2.9.14-2)\n',
      'Package: exim4\nStatus: install ok installed\nVersion: 4.96\nArchitecture: amd64\nProvides: mail-transport-agent\n',
      'Package: tool\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n',
      'Package: stuck\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n',
      'Package: broken\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\nDepends: gone-long-ago\n',
    ].join('\n\n');
    const run = (req: string[]) => resolvePackages(req, indexOf(index), installedOf(base, {}), 'pyproject.toml: system-packages');

    it("upgrades a base package whose dependency a replacement broke (and follows the new one's dependencies)", () => {
      const r = run(['needs-new-ssl']);
      assert.deepEqual(names(r), ['libssl3=3.0.15-1', 'needs-new-ssl=1', 'openssl=3.0.15-1']);
      assert.deepEqual(r.install.find((c) => c.pkg.name === 'openssl')!.chain, ["the base's openssl needs libssl3 (= 3.0.11-1)"]);
    });
    it('stops, naming both and a way out, when the index has nothing newer of the broken base package', () => {
      assert.throws(
        () => run(['needs-new-xml']),
        (e: unknown) =>
          e instanceof InputError &&
          e.code === 'SHALE_SYSTEM_BREAKS' &&
          /libxml2 2\.9\.14-2 replaces the base's 2\.9\.14-1, but the base's xmltool 1 needs libxml2 \(<< 2\.9\.14-2\) and the index has no newer xmltool/.test(
            e.message,
          ) &&
          /pin the version the base has \(e\.g\. "libxml2=2\.9\.14-1"\)/.test(e.message),
      );
    });
    it('refuses a conflict with a base package (also through a virtual package) and between requested ones', () => {
      assert.throws(
        () => run(['postfix']),
        (e: unknown) =>
          e instanceof InputError &&
          e.code === 'SHALE_SYSTEM_CONFLICT' &&
          /postfix 3\.7 \(asked for\) conflicts with exim4 4\.96 \(the base's\) \(mail-transport-agent\); .*shale never removes a package/.test(e.message),
      );
      assert.throws(() => run(['a', 'b']), /a 1 \(asked for\) conflicts with b 1 \(asked for\) \(b\)/);
    });
    it('upgrades a base package another one Breaks, when the index has a version past it; else stops', () => {
      assert.deepEqual(names(run(['lib-b'])), ['lib-b=2', 'tool=2']);
      assert.throws(() => run(['lib-c']), /lib-c 2 \(asked for\) conflicts with stuck 1 \(the base's\) \(stuck \(<< 2\)\)/);
    });
    it('leaves alone what the base had broken already', () => {
      assert.deepEqual(names(run(['b'])), ['b=1']);
    });
  });
});
