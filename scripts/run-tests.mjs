#!/usr/bin/env node
// Runs the compiled tests with node's own test runner. Node 20's `--test` takes no globs,
// so the files are listed here. `unit` or `e2e` picks one suite; no argument runs both.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const suites = process.argv[2] ? [process.argv[2]] : ['unit', 'e2e'];
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js')) files.push(p);
  }
};
for (const s of suites) {
  try { walk(join('dist', 'test', s)); } catch { /* suite not present */ }
}
if (files.length === 0) {
  console.error('no test files found under dist/test; run `npm run build` first');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-timeout=300000', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
