// Paths two of shale's layers write differently: found from the layers' file lists (path, kind,
// content hash), named by package and layer, with identical files and shared directories allowed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EntryInput } from '../../../src/plan/fingerprint.js';
import { checkPathConflicts, findPathConflicts, type ClaimSet, type PathOwner } from '../../../src/plan/path-conflicts.js';

const SITE = 'usr/local/lib/python3.11/site-packages';
const pkg = (label: string, layer: string): PathOwner => ({ label, layer, package: true });
const file = (path: string, content: string, kind = 'f644'): EntryInput => ({ path, kind, content });
const set = (owner: PathOwner, ...files: EntryInput[]): ClaimSet => ({ owner, files });

const rejects = (sets: ClaimSet[], ...patterns: RegExp[]): void => {
  assert.throws(
    () => checkPathConflicts(sets),
    (e: Error & { code?: string; exitCode?: number }) => {
      assert.equal(e.code, 'SHALE_LAYER_CONFLICT');
      assert.equal(e.exitCode, 2);
      for (const p of patterns) assert.match(e.message, p);
      return true;
    },
  );
};

test('two packages in different layers writing one path with different bytes: an error naming both, the path and what to do', () => {
  rejects(
    [set(pkg('six 1.16.0', 'deps-pure-3'), file(`${SITE}/six.py`, 'aa')), set(pkg('evil-six 1.0', 'deps-pure-9'), file(`${SITE}/six.py`, 'bb'))],
    /^six 1\.16\.0 \(layer "deps-pure-3"\) and evil-six 1\.0 \(layer "deps-pure-9"\) both write \/usr\/local\/lib\/python3\.11\/site-packages\/six\.py, with different contents/,
    /silently replace/,
    /Pin a version of one of them that does not ship this path, or drop one of the packages/,
  );
});

test('identical bytes (a namespace package __init__.py) and shared directories are fine', () => {
  const init = file(`${SITE}/google/__init__.py`, 'same');
  const sets = [
    set(pkg('protobuf 4.0', 'a'), init, file(`${SITE}/google/protobuf/__init__.py`, 'p')),
    set(pkg('googleapis-common-protos 1.0', 'b'), init, file(`${SITE}/google/api/__init__.py`, 'g')),
    set({ label: 'the app', layer: 'app', package: false }, { path: 'usr', kind: 'd', content: '' }, { path: 'usr/local', kind: 'd', content: '' }),
  ];
  assert.deepEqual(findPathConflicts(sets), []);
  checkPathConflicts(sets);
});

test('a file in one layer and a symlink in another at the same path is a conflict', () => {
  rejects(
    [set(pkg('a 1', 'one'), file('usr/local/bin/tool', 'x', 'f755')), set(pkg('b 1', 'two'), file('usr/local/bin/tool', 'a-tool', 'l'))],
    /a 1 \(layer "one"\) and b 1 \(layer "two"\) write \/usr\/local\/bin\/tool as an executable file \(a 1\) and as a symlink to a-tool \(b 1\)/,
  );
});

test('a file where another layer needs a directory is a conflict, either way round', () => {
  rejects(
    [set(pkg('a 1', 'one'), file(`${SITE}/pkg`, 'x')), set(pkg('b 1', 'two'), file(`${SITE}/pkg/mod.py`, 'y'))],
    /as a file \(a 1\) and as a directory \(for \/usr\/local\/lib\/python3\.11\/site-packages\/pkg\/mod\.py\) \(b 1\)/,
  );
  rejects(
    [set(pkg('b 1', 'one'), file(`${SITE}/pkg/mod.py`, 'y')), set(pkg('a 1', 'two'), file(`${SITE}/pkg`, 'x'))],
    /as a directory .* \(b 1\) and as a file \(a 1\)/,
  );
});

test('the same bytes with another mode is a conflict; within one layer the message says so', () => {
  rejects(
    [set(pkg('a 1', 'deps'), file('usr/local/bin/run', 'x', 'f644')), set(pkg('b 1', 'deps'), file('usr/local/bin/run', 'x', 'f755'))],
    /^a 1 and b 1 \(both in layer "deps"\) both write \/usr\/local\/bin\/run, with the same contents but executable only in b 1; one layer can hold only one of them/,
  );
});

test('only the same absolute image path counts: the app may have its own six.py, but not replace a package file', () => {
  const app: PathOwner = { label: 'the app', layer: 'app', package: false };
  const six = set(pkg('six 1.16.0', 'deps'), file(`${SITE}/six.py`, 'real'));
  assert.deepEqual(findPathConflicts([six, set(app, file('app/six.py', 'mine'))]), []);
  rejects(
    [six, set(app, file(`${SITE}/six.py`, 'mine'))],
    /six 1\.16\.0 \(layer "deps"\) and the app \(layer "app"\)/,
    /Remove or rename the path in the app, or drop six 1\.16\.0/,
  );
});

test('more paths and more pairs are counted in the one message', () => {
  const a = pkg('a 1', 'one');
  const b = pkg('b 1', 'two');
  const c = pkg('c 1', 'three');
  const found = findPathConflicts([
    set(a, file('x/1', '1'), file('x/2', '1'), file('y', '1')),
    set(b, file('x/1', '2'), file('x/2', '2')),
    set(c, file('y', '3')),
  ]);
  assert.equal(found.length, 3);
  rejects(
    [set(a, file('x/1', '1'), file('x/2', '1'), file('y', '1')), set(b, file('x/1', '2'), file('x/2', '2')), set(c, file('y', '3'))],
    /\(and 1 more path: \/x\/2\)/,
    /Also: a 1 and c 1 on \/y\./,
  );
});
