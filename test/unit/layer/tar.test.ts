import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { bufferEntry, type Entry } from '../../../src/layer/entry.js';
import { normalizeEntries, tarStream } from '../../../src/layer/tar.js';
import { writeLayerBlob, type BlobSink } from '../../../src/layer/blob.js';
import { sha256 } from '../../../src/oci/digest.js';

/** A BlobSink that keeps blobs in memory. */
function memorySink(): BlobSink & { blobs: Map<string, Buffer> } {
  const blobs = new Map<string, Buffer>();
  return {
    blobs,
    async put(src: Readable) {
      const chunks: Buffer[] = [];
      for await (const c of src) chunks.push(c as Buffer);
      const b = Buffer.concat(chunks);
      const digest = sha256(b);
      blobs.set(digest, b);
      return { digest, size: b.length };
    },
  };
}

async function readTar(buf: Buffer) {
  const ex = tar.extract();
  const out: { name: string; type: string; mode: number; mtime: number; uid: number; gid: number; uname: string; gname: string; body: string }[] = [];
  const done = (async () => {
    for await (const e of ex) {
      const chunks: Buffer[] = [];
      for await (const c of e) chunks.push(c as Buffer);
      const h = e.header;
      out.push({
        name: h.name,
        type: h.type ?? '',
        mode: h.mode ?? 0,
        mtime: (h.mtime?.getTime() ?? -1) / 1000,
        uid: h.uid ?? -1,
        gid: h.gid ?? -1,
        uname: h.uname ?? '',
        gname: h.gname ?? '',
        body: Buffer.concat(chunks).toString(),
      });
    }
  })();
  ex.end(buf);
  await done;
  return out;
}

const sample = (): Entry[] => [
  bufferEntry('app/main.py', 'print("hi")\n', 0o664),
  bufferEntry('app/bin/run', '#!/bin/sh\n', 0o700),
  { type: 'symlink', path: 'app/link', target: 'main.py' },
  bufferEntry('/usr/local/lib/x.txt', 'x'),
];

test('entries get explicit parents, byte-order sorting and normalized modes', async () => {
  const sink = memorySink();
  const blob = await writeLayerBlob(sample(), { mtime: 0 }, sink);
  const raw = gunzipSync(sink.blobs.get(blob.digest)!);
  assert.equal(sha256(raw), blob.diffId);
  const entries = await readTar(raw);
  assert.deepEqual(
    entries.map((e) => e.name),
    ['app/', 'app/bin/', 'app/bin/run', 'app/link', 'app/main.py', 'usr/', 'usr/local/', 'usr/local/lib/', 'usr/local/lib/x.txt'],
  );
  const byName = Object.fromEntries(entries.map((e) => [e.name, e]));
  assert.equal(byName['app/main.py']!.mode, 0o644);
  assert.equal(byName['app/bin/run']!.mode, 0o755);
  assert.equal(byName['app/']!.mode, 0o755);
  assert.equal(byName['app/link']!.type, 'symlink');
  for (const e of entries) {
    assert.equal(e.mtime, 0);
    assert.equal(e.uid, 0);
    assert.equal(e.gid, 0);
    assert.equal(e.uname, '');
  }
  assert.equal(byName['app/main.py']!.body, 'print("hi")\n');
});

test('the same entries in any order give the same digest; a changed byte changes it', async () => {
  const a = await writeLayerBlob(sample(), { mtime: 0 }, memorySink());
  const b = await writeLayerBlob(sample().reverse(), { mtime: 0 }, memorySink());
  assert.deepEqual(a, b);
  const changed = sample();
  changed[0] = bufferEntry('app/main.py', 'print("ho")\n');
  const c = await writeLayerBlob(changed, { mtime: 0 }, memorySink());
  assert.notEqual(c.digest, a.digest);
  const later = await writeLayerBlob(sample(), { mtime: 1700000000 }, memorySink());
  assert.notEqual(later.digest, a.digest);
});

test('golden digest: the layer format does not drift silently', async () => {
  const blob = await writeLayerBlob(sample(), { mtime: 0 }, memorySink());
  // If this changes on purpose, bump LAYER_FORMAT_VERSION so caches keyed by fingerprint are not reused.
  assert.equal(blob.diffId, GOLDEN_DIFF_ID);
  // The compressed bytes too: the gzip level is part of the format (GZIP_LEVEL).
  assert.equal(blob.digest, GOLDEN_DIGEST);
});

test('long paths use PAX headers and survive', async () => {
  const long = `a/${'b'.repeat(120)}/${'c'.repeat(120)}.py`;
  const raw = await new Promise<Buffer>((res, rej) => {
    const chunks: Buffer[] = [];
    tarStream([bufferEntry(long, 'x')], { mtime: 0 })
      .on('data', (c: Buffer) => chunks.push(c))
      .on('end', () => res(Buffer.concat(chunks)))
      .on('error', rej);
  });
  const names = (await readTar(raw)).map((e) => e.name);
  assert.ok(names.includes(long));
});

test('conflicting entries and escaping paths are refused', () => {
  assert.throws(() => normalizeEntries([bufferEntry('a/x', '1'), bufferEntry('a/x', '2')]), /two entries write \/a\/x/);
  assert.throws(() => normalizeEntries([bufferEntry('a', '1'), bufferEntry('a/x', '2')]), /needs it to be a directory/);
  assert.throws(() => normalizeEntries([bufferEntry('../etc/passwd', '1')]), /inside the image root/);
});

test('a size that does not match the content fails the layer', async () => {
  const bad: Entry = { type: 'file', path: 'x', mode: 0o644, size: 10, open: () => Readable.from([Buffer.from('short')]) };
  await assert.rejects(writeLayerBlob([bad], { mtime: 0 }, memorySink()));
});

const GOLDEN_DIGEST = 'sha256:693f4dd3f3bfe50358d45c5fa8c65c63782f25999bf7394b0afa684009689555';
const GOLDEN_DIFF_ID = 'sha256:f9fb8f1514467345909bcab3fcc4dab46358e1d074f6c3abfd32162a3d4c4688';

test('files are opened ahead of the one being written; a failure to open one fails the layer with its error', async () => {
  const opened: string[] = [];
  const entries: Entry[] = Array.from({ length: 60 }, (_, i) => {
    const path = `f/${String(i).padStart(2, '0')}.py`;
    return {
      type: 'file',
      path,
      mode: 0o644,
      size: 1,
      open: async () => {
        opened.push(path);
        if (i === 40) throw new Error('cannot read f/40.py');
        return Readable.from([Buffer.from('x')]);
      },
    };
  });
  await assert.rejects(writeLayerBlob(entries, { mtime: 0 }, memorySink()), /cannot read f\/40\.py/);
  // Files after the failing one were already open (read ahead), and none was opened twice.
  assert.ok(opened.includes('f/45.py'), opened.join(' '));
  assert.equal(new Set(opened).size, opened.length);
  const ok = entries.slice(0, 40);
  const blob = await writeLayerBlob(ok, { mtime: 0 }, memorySink());
  const one = await writeLayerBlob(
    ok.map((e) => ({ ...e })),
    { mtime: 0 },
    memorySink(),
  );
  assert.equal(blob.digest, one.digest);
});

test('a file opened ahead that fails while it waits fails the layer with its error (no crash, no hang)', async () => {
  const entries: Entry[] = Array.from({ length: 10 }, (_, i) => {
    const path = `g/${i}.py`;
    return {
      type: 'file',
      path,
      mode: 0o644,
      size: 3,
      open: () => {
        // The first file takes a while; the sixth fails meanwhile, while it waits its turn.
        const s = new Readable({ read() {} });
        if (i === 5) setTimeout(() => s.destroy(new Error('member g/5.py is damaged')), 10);
        else {
          s.push(Buffer.from('abc'));
          setTimeout(() => s.push(null), i === 0 ? 60 : 0);
        }
        return s;
      },
    };
  });
  await assert.rejects(writeLayerBlob(entries, { mtime: 0 }, memorySink()), /member g\/5\.py is damaged/);
});
