#!/usr/bin/env node
// Bundles the compiled code into dist/shale.mjs (the CLI) and dist/lib.mjs (the library,
// `import ... from 'shale'`), with the chunks they load in dist/chunks/. Loading one module instead of a hundred
// cuts shale's start-up from ~0.4 s to ~0.1 s, which every command, and a no-op rebuild most of
// all, pays; and with every dependency inside, the npm package installs nothing else (it has no
// runtime dependencies). bin/shale falls back to dist/src/cli/main.js without the bundle.
import { readFileSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
  define: { 'process.env.SHALE_BUNDLED_VERSION': JSON.stringify(version) },
  // CommonJS dependencies call require(); give the ES module bundle one.
  banner: { js: "import { createRequire as __shaleRequire } from 'node:module'; const require = __shaleRequire(import.meta.url);" },
};
// Chunk names carry a hash; earlier builds' chunks would pile up (and go into npm pack).
rmSync('dist/chunks', { recursive: true, force: true });
// One build of both entry points, split: what is loaded only on demand (`await import(...)`:
// openpgp, the xz and zstd decoders for Debian packages) goes to dist/chunks/ and costs a start
// nothing until a build needs it; code both entries share is one chunk, not two copies.
await build({
  ...common,
  entryPoints: { shale: 'dist/src/cli/main.js', lib: 'dist/src/index.js' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
});
