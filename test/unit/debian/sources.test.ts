// APT sources in both forms: one-line sources.list entries and deb822 .sources files.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDeb822Sources, parseSourcesList } from '../../../src/debian/sources.js';

describe('parseSourcesList', () => {
  it('reads deb lines with options; skips deb-src and comments', () => {
    const got = parseSourcesList(
      '# comment\ndeb http://deb.debian.org/debian bookworm main contrib\ndeb-src http://x/debian bookworm main\n' +
        'deb [arch=amd64,arm64 signed-by=/usr/share/keyrings/k.gpg] http://security.debian.org/debian-security/ bookworm-security main # trailing\n',
      '/etc/apt/sources.list',
    );
    assert.deepEqual(got, [
      { uri: 'http://deb.debian.org/debian', suite: 'bookworm', components: ['main', 'contrib'], origin: '/etc/apt/sources.list, line 2' },
      {
        uri: 'http://security.debian.org/debian-security',
        suite: 'bookworm-security',
        components: ['main'],
        signedBy: ['/usr/share/keyrings/k.gpg'],
        architectures: ['amd64', 'arm64'],
        origin: '/etc/apt/sources.list, line 4',
      },
    ]);
  });
  it('refuses a malformed line and a flat repository, naming the line', () => {
    assert.throws(() => parseSourcesList('deb http://x\n', 'f'), /f, line 1: expected "deb \[options\] URI SUITE COMPONENT/);
    assert.throws(() => parseSourcesList('deb http://x ./\n', 'f'), /flat repository/);
  });
});

describe('parseDeb822Sources', () => {
  const DEBIAN = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main

Types: deb
URIs: http://example.org/debian
Suites: stable
Components: main
Enabled: no
`;
  it('gives one source per URI and suite of each enabled deb paragraph', () => {
    const got = parseDeb822Sources(DEBIAN, '/etc/apt/sources.list.d/debian.sources');
    assert.deepEqual(
      got.map((s) => `${s.uri} ${s.suite} ${s.components.join(',')} ${s.signedBy?.join(',')}`),
      [
        'http://deb.debian.org/debian bookworm main /usr/share/keyrings/debian-archive-keyring.gpg',
        'http://deb.debian.org/debian bookworm-updates main /usr/share/keyrings/debian-archive-keyring.gpg',
      ],
    );
  });
  it('reads an inline Signed-By key block', () => {
    const text =
      'Types: deb\nURIs: http://x/debian\nSuites: s\nComponents: main\nSigned-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n abc\n ' +
      '-----END PGP PUBLIC KEY BLOCK-----\n';
    const [s] = parseDeb822Sources(text, 'x.sources');
    assert.equal(s!.signedBy![0], '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nabc\n-----END PGP PUBLIC KEY BLOCK-----\n');
  });
});
