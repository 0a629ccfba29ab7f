// Fetch-handler benchmark: one Hono hello app (servers/hono-hello-app.mjs, GET / → c.text('Hello, World!'))
// served by @hono/node-server on node:http (the baseline) and by MummyX through fetchHandler,
// inline (THREADS=0) and on a fixed pool of 2 workers (THREADS=2); with MummyX's own hello
// (examples/dist/hello.js, no Hono, no web Request/Response) as a reference for what the adapter
// and Hono cost. wrk -t1 -c100 --timeout 5s, 2 s warm-up (the pool: --pool-warmup, each worker's
// V8 optimizes its code only after it has seen enough requests), rounds alternating the servers,
// median and min–max, server CPU µs/request from /proc/PID/stat. Ratios are per round against
// @hono/node-server. The target for inline is ≥ 0.9× its req/s. A second @hono/node-server run
// with overrideGlobalObjects: false (hono-node-server-native) shows what its replacement of the
// global Request and Response is worth: like MummyX, it then hands the app Node's own classes.
// --node PATH runs the servers with another Node binary (e.g. the node@22 or node@24 package).
//
// Pinned (default): the whole server process (IO thread and its worker threads) on core 0, wrk and
// this script on core 1 — the inline comparison is one core against one core; 2 workers pinned
// share core 0 with the IO thread. --unpinned lets everything use both cores.
//
// Usage: node bench/fetch.mjs [--rounds N] [--duration S] [--warmup S] [--pool-warmup S]
//        [--connections C] [--only a,b] [--unpinned] [--node PATH] [--max-other PCT] [--retries N]
//        [--quiet-wait S] [--no-autogroup]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import {
  benchDir,
  codeFingerprint,
  formatTable,
  git,
  machineInfo,
  parseArgsOrExit,
  pinPid,
  raiseAutogroup,
  repoRoot,
  taskset,
} from './lib/harness.mjs';
import { roundRatios, runAlternating } from './lib/threads-measure.mjs';

const usage =
  'usage: node bench/fetch.mjs [--rounds N] [--duration S] [--warmup S] [--pool-warmup S] [--connections C]\n' +
  '       [--only hono-node-server,hono-node-server-native,mummyx-inline,mummyx-2-workers,mummyx-hello]\n' +
  '       [--unpinned] [--node PATH]\n' +
  '       [--max-other PCT] [--retries N] [--quiet-wait S] [--no-autogroup]';

const opts = parseArgsOrExit(
  process.argv.slice(2),
  {
    rounds: 'number',
    duration: 'number',
    warmup: 'number',
    'pool-warmup': 'number',
    connections: 'number',
    only: 'string',
    unpinned: 'flag',
    node: 'string',
    'max-other': 'number',
    retries: 'string',
    'quiet-wait': 'number',
    'no-autogroup': 'flag',
    help: 'flag',
  },
  usage,
);

const settings = {
  rounds: Math.round(opts.rounds ?? 3),
  durationS: Math.round(opts.duration ?? 10),
  warmupS: Math.round(opts.warmup ?? 2),
  poolWarmupS: Math.round(opts['pool-warmup'] ?? 10),
  connections: Math.round(opts.connections ?? 100),
  threads: 1,
  maxOtherCpuPct: opts['max-other'] ?? 10,
  retries: Math.max(0, Math.round(Number(opts.retries ?? 2)) || 0),
  quietWaitS: opts['quiet-wait'] ?? 120,
};

const hello = join(repoRoot, 'examples/dist/hello.js');
const servers = join(benchDir, 'servers');
if (!existsSync(join(repoRoot, 'packages/core/dist/index.js')) || !existsSync(hello)) {
  console.error('packages/core/dist or examples/dist is missing: run `npm run build` first.');
  process.exit(1);
}

const node = opts.node ?? process.execPath;
let serverNodeVersion;
try {
  serverNodeVersion = execFileSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8', timeout: 10_000 }).trim();
} catch (error) {
  console.error(`cannot run ${node}: ${error.message}`);
  process.exit(1);
}
const baseline = 'hono-node-server';
let configs = [
  {
    name: baseline,
    label: 'Hono on @hono/node-server (node:http)',
    command: node,
    args: [join(servers, 'hono-node-server.mjs')],
  },
  {
    name: 'hono-node-server-native',
    label: 'Hono on @hono/node-server, overrideGlobalObjects: false',
    command: node,
    args: [join(servers, 'hono-node-server.mjs')],
    env: { OVERRIDE_GLOBALS: '0' },
  },
  {
    name: 'mummyx-inline',
    label: 'Hono on MummyX fetchHandler, inline',
    command: node,
    args: [join(servers, 'mummyx-hono.mjs')],
    env: { THREADS: '0' },
  },
  {
    name: 'mummyx-2-workers',
    label: 'Hono on MummyX fetchHandler, THREADS=2',
    command: node,
    args: [join(servers, 'mummyx-hono.mjs')],
    env: { THREADS: '2' },
    warmupS: settings.poolWarmupS,
  },
  {
    name: 'mummyx-hello',
    label: 'MummyX hello, no Hono (reference)',
    command: node,
    args: [hello],
  },
];
if (opts.only !== undefined) {
  const wanted = opts.only.split(',').map((s) => s.trim());
  const unknown = wanted.filter((w) => !configs.some((c) => c.name === w));
  if (unknown.length > 0) {
    console.error(`unknown server(s): ${unknown.join(', ')}\n${usage}`);
    process.exit(2);
  }
  configs = configs.filter((c) => wanted.includes(c.name));
}

const ncpu = availableParallelism();
const all = ncpu > 1 ? `0-${ncpu - 1}` : '0';
const cores = opts.unpinned
  ? { server: all, client: all, harness: all }
  : { server: 0, client: ncpu > 1 ? 1 : 0, harness: ncpu > 1 ? 1 : 0 };
if (taskset() === undefined) console.error('note: taskset not found; processes are not pinned to cores');
else pinPid(process.pid, cores.harness);

const versionOf = (name) => {
  try {
    return JSON.parse(readFileSync(join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
};
const honoVersion = versionOf('hono');
const nodeServerVersion = versionOf('@hono/node-server');

const fingerprintBefore = codeFingerprint(join(servers, 'hono-hello-app.mjs'));
const restoreAutogroup = opts['no-autogroup'] ? () => {} : raiseAutogroup(-10);
const perRun = (c) => (c.warmupS ?? settings.warmupS) + settings.durationS + 2;
console.error(
  `fetch benchmark: ${configs.map((c) => c.name).join(', ')}; ${settings.rounds} round(s) × ` +
    `(${settings.warmupS} s warm-up [pool ${settings.poolWarmupS} s] + ${settings.durationS} s); ` +
    `wrk -t1 -c${settings.connections}; server on core(s) ${cores.server}, wrk on ${cores.client}; ` +
    `about ${Math.ceil((settings.rounds * configs.reduce((sum, c) => sum + perRun(c), 0)) / 60)} min on a quiet box`,
);

let report;
try {
  report = await runAlternating(configs, {
    rounds: settings.rounds,
    warmupS: settings.warmupS,
    durationS: settings.durationS,
    connections: settings.connections,
    threads: settings.threads,
    maxOtherCpuPct: settings.maxOtherCpuPct,
    retries: settings.retries,
    quietWaitS: settings.quietWaitS,
    cores,
    onWait: (busyPct, waitedS) => {
      if (waitedS < 1.5 || Math.floor(waitedS / 15) !== Math.floor((waitedS - 1) / 15)) {
        console.error(
          `  waiting for a quiet box: others use ${busyPct.toFixed(0)}% of a core (${waitedS.toFixed(0)} s)`,
        );
      }
    },
    onRun: (run, r) => {
      const flag = run.discarded ? '  (noisy: repeating)' : run.noisy ? '  (noisy: kept, retries used up)' : '';
      console.error(
        `  round ${r} ${run.name.padEnd(17)} ${Math.round(run.requestsPerS).toString().padStart(7)} req/s  ` +
          `p50 ${run.latencyUs.p50} µs  p99 ${run.latencyUs.p99} µs  ` +
          `${run.serverCpuUsPerRequest?.toFixed(2) ?? '–'} µs CPU/req  server ${run.serverCpuPctOfCore.toFixed(0)}% of a core  ` +
          `other ${run.otherCpuPctOfCore.toFixed(1)}%  errors ${run.errorCount}${flag}`,
      );
    },
  });
} finally {
  restoreAutogroup();
}
const fingerprintAfter = codeFingerprint(join(servers, 'hono-hello-app.mjs'));

const rpsRatio = roundRatios(report, baseline);
const cpuRatio = roundRatios(report, baseline, (run) => run.serverCpuUsPerRequest);
const fx = (x, digits = 0) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits));
const range = (s, digits = 0) =>
  s === undefined ? '–' : `${fx(s.median, digits)} (${fx(s.min, digits)}–${fx(s.max, digits)})`;
const ratio = (s) => (s === undefined ? '–' : `${s.median.toFixed(2)}× (${s.min.toFixed(2)}–${s.max.toFixed(2)})`);
const rows = report.results.map((r) => {
  const s = r.summary;
  const flags = [s.errors > 0 ? `${s.errors} errors` : '', s.noisyRuns > 0 ? `${s.noisyRuns} noisy` : '']
    .filter(Boolean)
    .join(', ');
  return [
    r.label + (flags !== '' ? ` [${flags}]` : ''),
    range(s.requestsPerS),
    fx(s.p50Us.median),
    fx(s.p99Us.median),
    range(s.serverCpuUsPerRequest, 2),
    fx(s.rssKb.median / 1024),
    ratio(rpsRatio[r.name]),
    ratio(cpuRatio[r.name]),
  ];
});
const otherMax = Math.max(...report.results.flatMap((r) => r.runs.map((x) => x.otherCpuPctOfCore)));
const lines = [
  '',
  `fetch hello: wrk -t1 -c${settings.connections} -d${settings.durationS}s --timeout 5s, ${settings.rounds} round(s), ` +
    `${settings.warmupS} s warm-up (pool ${settings.poolWarmupS} s), ${opts.unpinned ? 'unpinned' : 'pinned: server on core 0, wrk on core 1'}; ` +
    `node ${serverNodeVersion}, hono ${honoVersion ?? '?'}, @hono/node-server ${nodeServerVersion ?? '?'}`,
  formatTable(
    [
      'server',
      'req/s median (min–max)',
      'p50 µs',
      'p99 µs',
      'CPU µs/req (min–max)',
      'RSS MB',
      `req/s vs ${baseline}`,
      `CPU/req vs ${baseline}`,
    ],
    rows,
  ),
  'ratios: median of the per-round ratios (min–max in brackets); for req/s higher is better, for CPU/req lower.',
  `other CPU on the box during kept measured windows: up to ${otherMax.toFixed(1)}% of a core ` +
    `(limit ${settings.maxOtherCpuPct}%; ${report.discarded.length} noisy attempt(s) discarded)` +
    (otherMax > settings.maxOtherCpuPct ? ' — still noisy, re-run when the box is quiet' : ''),
];
if (fingerprintAfter !== fingerprintBefore) {
  lines.push('WARNING: packages/core/dist changed during the run: the MummyX rounds mix builds');
}

mkdirSync(join(benchDir, 'results'), { recursive: true });
const stamp = new Date()
  .toISOString()
  .replace(/[-:]/g, '')
  .replace(/\.\d+Z$/, 'Z');
const file = join(benchDir, 'results', `fetch-${stamp}.json`);
const dirty = git(['status', '--porcelain', '--untracked-files=no']);
writeFileSync(
  file,
  `${JSON.stringify(
    {
      benchmark: 'fetch-hello',
      git: { commit: git(['rev-parse', 'HEAD']), dirty: dirty === undefined ? undefined : dirty !== '' },
      codeFingerprint: { before: fingerprintBefore, after: fingerprintAfter },
      baseline,
      versions: { node: serverNodeVersion, hono: honoVersion, honoNodeServer: nodeServerVersion },
      settings: { ...settings, cores },
      machine: machineInfo(),
      ratios: { requestsPerS: rpsRatio, serverCpuUsPerRequest: cpuRatio },
      ...report,
    },
    null,
    2,
  )}\n`,
);
lines.push(`results: ${file}`);
console.log(lines.join('\n'));
