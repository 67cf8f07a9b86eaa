import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { indexSources, DEFAULT_INDEX_URL } from '../../../src/python/index-env.js';
import { netrcCredentials, parseNetrc } from '../../../src/python/netrc.js';
import { PackageHttp } from '../../../src/python/http.js';
import { tempDir, cleanup } from './helpers.js';

const none = { extraIndexUrls: [] as string[] };

test('index precedence: the lock, then [tool.shale], then PIP_/UV_ environment, then PyPI', () => {
  assert.equal(indexSources({}, none, {}).indexUrl, DEFAULT_INDEX_URL);
  assert.equal(indexSources({}, none, { UV_INDEX_URL: 'https://uv/simple' }).indexUrl, 'https://uv/simple');
  assert.equal(indexSources({}, none, { PIP_INDEX_URL: 'https://pip/simple', UV_INDEX_URL: 'https://uv/simple' }).indexUrl, 'https://pip/simple');
  assert.equal(indexSources({ indexUrl: 'https://cfg/simple' }, none, { PIP_INDEX_URL: 'https://pip/simple' }).indexUrl, 'https://cfg/simple');
  assert.equal(indexSources({ indexUrl: 'https://cfg/simple' }, { indexUrl: 'https://lock/simple', extraIndexUrls: [] }, {}).indexUrl, 'https://lock/simple');
  const extra = indexSources(
    { extraIndexUrls: ['https://cfg-extra/simple'] },
    { extraIndexUrls: ['https://lock-extra/simple'] },
    { PIP_EXTRA_INDEX_URL: 'https://a/simple https://b/simple', UV_EXTRA_INDEX_URL: 'https://a/simple' },
  );
  assert.deepEqual(extra.extraIndexUrls, ['https://lock-extra/simple', 'https://cfg-extra/simple', 'https://a/simple', 'https://b/simple']);
});

test('.netrc: machine entries by host (with or without port), then default', () => {
  const n = parseNetrc(
    '# comment\nmachine idx.example.com login alice password s3cret\n\nmachine other login bob\n  password pw\ndefault login anon password x\n',
  );
  assert.deepEqual(n.machines.get('idx.example.com'), { login: 'alice', password: 's3cret' });
  assert.deepEqual(n.machines.get('other'), { login: 'bob', password: 'pw' });
  assert.deepEqual(n.fallback, { login: 'anon', password: 'x' });
});

test('an index behind Basic auth is read with credentials from $NETRC, which never show in errors', async () => {
  const dir = await tempDir();
  const seen: (string | undefined)[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers.authorization);
    if (req.headers.authorization !== `Basic ${Buffer.from('alice:s3cret').toString('base64')}`) {
      res.writeHead(401).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html' }).end('<a href="x-1.0-py3-none-any.whl">x</a>');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as AddressInfo).port;
  try {
    await writeFile(join(dir, 'netrc'), `machine 127.0.0.1 login alice password s3cret\n`);
    const prev = process.env.NETRC;
    process.env.NETRC = join(dir, 'netrc');
    try {
      assert.deepEqual(netrcCredentials(`127.0.0.1:${port}`), { login: 'alice', password: 's3cret' });
      const http = new PackageHttp();
      const res = await http.get(`http://127.0.0.1:${port}/simple/x/`, 'text/html');
      assert.equal(res.status, 200);
      assert.match(await res.text(), /x-1\.0/);
      server.close();
      await assert.rejects(
        http.get(`http://127.0.0.1:${port}/simple/x/`, 'text/html'),
        (e: Error) => !e.message.includes('s3cret') && /cannot GET/.test(e.message),
      );
    } finally {
      if (prev === undefined) delete process.env.NETRC;
      else process.env.NETRC = prev;
    }
    assert.ok(seen.length > 0 && seen.every((h) => h !== undefined), 'credentials were sent');
  } finally {
    server.close();
    await cleanup(dir);
  }
});
