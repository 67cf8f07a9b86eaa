#!/usr/bin/env node
// Runs the compiled tests with node's own test runner. Node 20's `--test` takes no globs,
// so the files are listed here. `unit` or `e2e` picks one suite; no argument runs both, unit first.
//
// Unit: the files are split into as many shards as the machine has cores, each shard one
// process that imports its files in turn (their tests run one after another, as in a file), and
// the shards run at once. Starting a process per file cost more than the tests themselves
// (~0.2 s of CPU each: node, then shale's modules, again and again). Unit tests start no shared
// services, listen on port 0, write only under their own mkdtemp directories and put back any
// environment variable they change, so sharing a process with other files is safe.
// SHALE_TEST_ISOLATE=1 runs one process per unit file instead (to rule out a file disturbing
// another); SHALE_TEST_CONCURRENCY overrides the number of shards/processes at once.
//
// E2e: one file at a time: the files share podman's image store, the machine-wide fixture
// cache (test/e2e/support), free ports picked then handed to docker-registry, and the CPU
// that their timeouts assume.
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';

const suites = process.argv[2] ? [process.argv[2]] : ['unit', 'e2e'];
const cores = Number(process.env.SHALE_TEST_CONCURRENCY) || availableParallelism();
const isolate = process.env.SHALE_TEST_ISOLATE === '1';

const filesOf = (suite) => {
  const files = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.test.js')) files.push(p);
    }
  };
  try {
    walk(join('dist', 'test', suite));
  } catch {
    /* suite not present */
  }
  // tsc never deletes output: a test moved or removed in test/ leaves its old .js in dist/.
  const stale = files.filter((f) => !existsSync(f.slice('dist/'.length).replace(/\.js$/, '.ts')));
  if (stale.length) console.error(`skipping compiled tests whose source is gone: ${stale.join(', ')}`);
  return files.filter((f) => !stale.includes(f));
};

/** Shard modules over `files` in `dir`: each imports its files in turn; a file that fails to load is a failing test. */
const shardsOf = (files, n, dir) => {
  const groups = Array.from({ length: Math.min(n, files.length) }, () => []);
  // Largest first onto the lightest shard: compiled size is a rough measure of a file's work.
  const sized = files.map((f) => ({ f, size: statSync(f).size })).sort((a, b) => b.size - a.size || (a.f < b.f ? -1 : 1));
  const load = groups.map(() => 0);
  for (const { f, size } of sized) {
    const i = load.indexOf(Math.min(...load));
    groups[i].push(f);
    load[i] += size;
  }
  return groups.map((g, i) => {
    const urls = g.sort().map((f) => pathToFileURL(resolve(f)).href);
    const p = join(dir, `unit-shard-${i + 1}.test.mjs`);
    writeFileSync(
      p,
      [
        "import { test } from 'node:test';",
        `for (const file of ${JSON.stringify(urls, null, 2)}) {`,
        '  try {',
        '    await import(file);',
        '  } catch (err) {',
        '    test(`load ${file}`, () => { throw err; });',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
    return p;
  });
};

const runs = suites.map((s) => ({ suite: s, files: filesOf(s) })).filter((r) => r.files.length > 0);
if (runs.length === 0) {
  console.error('no test files found under dist/test; run `npm run build` first');
  process.exit(1);
}
let status = 0;
for (const { suite, files } of runs) {
  const parallel = suite === 'unit';
  const shardDir = parallel && !isolate ? mkdtempSync(join(tmpdir(), 'shale-test-shards-')) : undefined;
  try {
    const entries = shardDir ? shardsOf(files, cores, shardDir) : files;
    const n = parallel ? cores : 1;
    const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${n}`, '--test-timeout=300000', ...entries], { stdio: 'inherit' });
    if (r.status !== 0) status = r.status ?? 1;
  } finally {
    if (shardDir) rmSync(shardDir, { recursive: true, force: true });
  }
}
process.exit(status);
