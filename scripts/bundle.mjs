#!/usr/bin/env node
// Bundles the compiled CLI into one file (dist/shale.mjs). Loading one module instead of a
// hundred cuts shale's start-up from ~0.4 s to ~0.1 s, which every command, and a no-op
// rebuild most of all, pays. bin/shale falls back to dist/src/cli/main.js without it.
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/src/cli/main.js'],
  outfile: 'dist/shale.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
  // CommonJS dependencies call require(); give the ES module bundle one.
  banner: { js: "import { createRequire as __shaleRequire } from 'node:module'; const require = __shaleRequire(import.meta.url);" },
});
