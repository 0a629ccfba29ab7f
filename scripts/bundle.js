#!/usr/bin/env node
// Part of `npm run build`, after `tsc -b`: bundles @mummyx/core's compiled modules into a few
// files (packages/core/dist/bundle/), which its package.json exports. Every worker thread of a pool
// imports the library; one file read and compiled instead of ninety halves what that import costs,
// and that cost is paid once per worker. The entry points share their chunks, so an app, the
// worker runtime and `@mummyx/core/tus` see one copy of every module. The source maps lead back
// to the TypeScript sources through tsc's maps.
// Usage: node scripts/bundle.js
import { build } from 'esbuild';
import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const core = fileURLToPath(new URL('../packages/core/', import.meta.url));
const entryPoints = {
  index: 'dist/index.js',
  tus: 'dist/tus/index.js',
  // A pool starts its workers at `./worker-main.js` beside the code that starts them.
  'worker-main': 'dist/threads/worker-main.js',
};
for (const file of Object.values(entryPoints)) {
  if (!existsSync(`${core}${file}`)) {
    console.error(`bundle: packages/core/${file} is missing; run \`npm run build\` (it runs tsc -b first)`);
    process.exit(1);
  }
}
const outdir = `${core}dist/bundle`;
// Chunk names carry a content hash: old ones would pile up.
rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: core,
  entryPoints,
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // ws and @fastify/busboy stay packages of their own, found from node_modules.
  packages: 'external',
  // Names as written: a class or function renamed to avoid a clash would show in stack traces and errors.
  keepNames: true,
  sourcemap: true,
  chunkNames: 'chunk-[hash]',
  logLevel: 'warning',
});
