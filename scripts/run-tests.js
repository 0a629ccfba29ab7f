#!/usr/bin/env node
// Runs every compiled test file (`*.test.js` under packages/*/dist-test/, apps/*/dist-test/ and test/dist/) with node:test,
// one file at a time: several suites time blocking handlers, and two at once on a 2-core machine
// would measure each other.
// Usage: node scripts/run-tests.js [filter]   — filter keeps files whose path contains it.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const roots = [
  ...['packages', 'apps'].flatMap((folder) =>
    readdirSync(folder)
      .map((name) => join(folder, name, 'dist-test'))
      .sort(),
  ),
  'test/dist',
];
const filter = process.argv[2];
const files = [];
function walk(dir) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) walk(path);
    else if (entry.endsWith('.test.js') && (filter === undefined || path.includes(filter))) files.push(path);
  }
}
for (const root of roots) walk(root);
if (files.length === 0) {
  console.error('no test files found: run `npm run build` first');
  process.exit(1);
}
files.sort();
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-timeout=120000', ...files], {
  stdio: 'inherit',
  env: { ...process.env, FC_SEED: process.env.FC_SEED ?? '20261126' },
});
process.exit(result.status ?? 1);
