#!/usr/bin/env node
// Runs every compiled test file (`*.test.js` under packages/*/dist-test/, apps/*/dist-test/ and test/dist/) with node:test,
// one file at a time: several suites time blocking handlers, and two at once on a 2-core machine
// would measure each other. Each package runs in its own `node --test`, and a table of test counts
// per package closes the run.
//
// Every `*.test.ts` source must have its compiled `*.test.js`: a package whose tests stopped
// compiling (or were never built) fails the run instead of dropping out of it silently, and so
// does a bundle of @mummyx/core older than what tsc wrote.
//
// Usage: node scripts/run-tests.js [filter] [--exclude a,b] [--packages a,b]   — filter keeps files
// whose path contains it; --exclude leaves out files whose path contains any of the listed parts;
// --packages runs only the listed workspaces (packages/core, apps/demo, test, …).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/** Each workspace with tests: its label on the command line, where its sources are and where tsc writes them. */
const packages = [
  ...['packages', 'apps'].flatMap((folder) =>
    readdirSync(folder)
      .sort()
      .map((name) => ({
        name: join(folder, name),
        label: `${folder}/${name}`,
        source: join(folder, name, 'test'),
        compiled: join(folder, name, 'dist-test'),
      })),
  ),
  { name: 'test', label: 'test', source: 'test', compiled: join('test', 'dist') },
].filter(({ source }) => existsSync(source));

const args = process.argv.slice(2);

/** The comma-separated list after `option` (taken out of `args`), or undefined without the option. */
function listOption(option) {
  const at = args.indexOf(option);
  if (at === -1) return undefined;
  return (args.splice(at, 2)[1] ?? '').split(',').filter((part) => part !== '');
}

/** `--exclude a,b`: leaves out files whose path contains any of these. */
const excluded = listOption('--exclude') ?? [];
/** `--packages a,b`: runs only these workspaces (e.g. packages/core,apps/demo; used by CI on Node 22 and 24). */
const onlyPackages = listOption('--packages');
if (onlyPackages !== undefined) {
  const unknown = onlyPackages.filter((name) => !packages.some((pkg) => pkg.label === name));
  if (unknown.length > 0 || onlyPackages.length === 0) {
    const known = packages.map((pkg) => pkg.label).join(', ');
    console.error(
      `run-tests: --packages takes a comma-separated list of: ${known}; got ${unknown.join(', ') || 'nothing'}`,
    );
    process.exit(2);
  }
}
const filter = args[0];

/** Paths (relative to `root`) of the files under it whose name ends with `suffix`. */
function filesUnder(root, suffix, skip = new Set()) {
  const found = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) {
        if (!skip.has(path)) walk(path);
      } else if (entry.endsWith(suffix)) found.push(relative(root, path));
    }
  };
  walk(root);
  return found.sort();
}

const problems = [];

// @mummyx/core's package entry is its bundle (scripts/bundle.js, run by `npm run build` after tsc).
// A bundle older than tsc's output would have the tests run code that is no longer the source.
const coreDist = join('packages', 'core', 'dist');
const bundleEntry = join(coreDist, 'bundle', 'index.js');
if (!existsSync(bundleEntry)) {
  problems.push(`packages/core: no ${bundleEntry} (run \`npm run build\`: tsc -b, then scripts/bundle.js)`);
} else {
  const bundledAt = statSync(bundleEntry).mtimeMs;
  const newer = filesUnder(coreDist, '.js', new Set([join(coreDist, 'bundle')])).filter(
    (file) => statSync(join(coreDist, file)).mtimeMs > bundledAt,
  );
  if (newer.length > 0) {
    problems.push(
      `packages/core: ${bundleEntry} is older than ${join(coreDist, newer[0])}${newer.length > 1 ? ` and ${newer.length - 1} more` : ''} (run \`npm run build\`, or \`node scripts/bundle.js\` after tsc -b)`,
    );
  }
}
const runs = [];
for (const pkg of packages) {
  if (onlyPackages !== undefined && !onlyPackages.includes(pkg.label)) continue;
  const sources = filesUnder(pkg.source, '.test.ts', new Set([pkg.compiled, join(pkg.source, 'node_modules')]));
  if (sources.length === 0) continue;
  if (!existsSync(pkg.compiled)) {
    problems.push(`${pkg.name}: ${sources.length} test sources but no ${pkg.compiled}/ (run \`npm run build\`)`);
    continue;
  }
  const compiled = new Set(filesUnder(pkg.compiled, '.test.js'));
  const missing = sources.filter((file) => !compiled.has(file.replace(/\.ts$/, '.js')));
  if (missing.length > 0) {
    problems.push(
      `${pkg.name}: not compiled (run \`npm run build\`, or \`npx tsc -b --force && node scripts/bundle.js\` if outputs were deleted): ${missing.join(', ')}`,
    );
    continue;
  }
  for (const file of compiled) {
    if (!sources.includes(file.replace(/\.js$/, '.ts'))) {
      console.error(`run-tests: skipping ${join(pkg.compiled, file)}: its source is gone (a stale build output)`);
    }
  }
  const files = sources
    .map((file) => join(pkg.compiled, file.replace(/\.ts$/, '.js')))
    .filter((path) => filter === undefined || path.includes(filter) || path.split(sep).join('/').includes(filter))
    .filter((path) => !excluded.some((part) => path.split(sep).join('/').includes(part)));
  if (files.length > 0) runs.push({ name: pkg.name, files });
}

if (problems.length > 0) {
  for (const problem of problems) console.error(`run-tests: ${problem}`);
  process.exit(1);
}
if (runs.length === 0) {
  console.error(
    filter === undefined
      ? 'run-tests: no test files found'
      : `run-tests: no test file matches ${JSON.stringify(filter)}`,
  );
  process.exit(1);
}

/** Runs one package's files; resolves with the counts from the reporter's closing summary. */
function runPackage(files) {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      // The timeout bounds each test that sets none, and each file as a whole (Node applies it to
      // the file too): files of long tests take minutes on a busy machine. Tests that can hang set
      // their own, shorter timeouts.
      ['--test', '--test-concurrency=1', '--test-timeout=600000', '--test-reporter=spec', ...files],
      { stdio: ['inherit', 'pipe', 'inherit'], env: { ...process.env, FC_SEED: process.env.FC_SEED ?? '20261126' } },
    );
    let tail = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString('utf8')).slice(-4_096);
    });
    child.on('close', (code, signal) => {
      const count = (name) => Number(new RegExp(`^\\S* ?${name} (\\d+)$`, 'm').exec(tail)?.[1] ?? Number.NaN);
      resolve({
        code: code ?? 1,
        signal,
        tests: count('tests'),
        passed: count('pass'),
        failed: count('fail'),
        cancelled: count('cancelled'),
        skipped: count('skipped'),
        todo: count('todo'),
      });
    });
  });
}

const results = [];
for (const run of runs) {
  console.log(`\n== ${run.name}: ${run.files.length} test file(s)`);
  results.push({ ...run, ...(await runPackage(run.files)) });
}

console.log('\ntests per package:');
let isFailed = false;
for (const r of results) {
  const counted = Number.isFinite(r.tests);
  const ok = r.code === 0 && counted;
  if (!ok) isFailed = true;
  const figures = counted
    ? `${r.tests} tests: ${r.passed} passed, ${r.failed} failed, ${r.cancelled} cancelled, ${r.skipped} skipped, ${r.todo} todo`
    : `no summary from node --test (exit ${r.code}${r.signal === null ? '' : `, ${r.signal}`})`;
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${r.name.padEnd(24)} ${String(r.files.length).padStart(3)} files, ${figures}`);
}
process.exit(isFailed ? 1 : 0);
