#!/usr/bin/env node
// Bundles the compiled CLI into one CommonJS file (dist/shale.cjs). Loading one file instead of a
// hundred modules cuts shale's start-up from ~0.4 s to ~0.1 s, and as a plain script it can use
// V8's code cache (bin/shale keeps dist/shale.<command>.cache), which every command, and a no-op
// rebuild most of all, pays. bin/shale falls back to dist/src/cli/main.js without a bundle.
import { readdirSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/src/cli/main.js'],
  outfile: 'dist/shale.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
});
// Caches made for the previous bundle would be rejected; start afresh.
for (const f of readdirSync('dist')) if (/^shale\.[a-z]+\.cache$/.test(f)) rmSync(`dist/${f}`, { force: true });
