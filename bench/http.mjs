// Hello benchmark: examples/dist/hello.js (MummyX) vs raw node:http vs fastify 5.
// wrk -t1 -c100 -d10s --timeout 5s after a 2 s warm-up, 3 rounds alternating the servers,
// server pinned to core 0 and wrk to core 1. Prints a table and writes JSON to bench/results/.
//
// Usage: node bench/http.mjs [--rounds N] [--duration S] [--connections C] [--warmup S]
//                            [--threads T] [--max-other PCT] [--retries N] [--only name,name]
//                            [--no-autogroup]
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  codeFingerprint,
  git,
  benchDir,
  defaultCores,
  formatTable,
  pairedRatios,
  parseArgsOrExit,
  pinPid,
  raiseAutogroup,
  repoRoot,
  round,
  runRounds,
  taskset,
} from './lib/harness.mjs';

const usage =
  'usage: node bench/http.mjs [--rounds N] [--duration S] [--connections C] [--warmup S] [--threads T] ' +
  '[--max-other PCT] [--retries N] [--only mummyx,node:http,fastify] [--no-autogroup]';

const opts = parseArgsOrExit(
  process.argv.slice(2),
  {
    rounds: 'number',
    duration: 'number',
    connections: 'number',
    warmup: 'number',
    threads: 'number',
    'max-other': 'number',
    retries: 'string',
    only: 'string',
    'no-autogroup': 'flag',
    help: 'flag',
  },
  usage,
);

const settings = {
  rounds: Math.round(opts.rounds ?? 3),
  durationS: Math.round(opts.duration ?? 10),
  warmupS: Math.round(opts.warmup ?? 2),
  connections: Math.round(opts.connections ?? 100),
  threads: Math.round(opts.threads ?? 1),
  maxOtherCpuPct: opts['max-other'] ?? 10,
  retries: Math.max(0, Math.round(Number(opts.retries ?? 2)) || 0),
};

const ours = join(repoRoot, 'examples/dist/hello.js');
if (!existsSync(ours)) {
  console.error(`${ours} is missing: run \`npm run build\` first.`);
  process.exit(1);
}

const baseline = 'node:http';
let configs = [
  { name: 'mummyx', label: 'mummyx (examples/dist/hello.js)', command: process.execPath, args: [ours] },
  {
    name: 'node:http',
    label: 'raw node:http',
    command: process.execPath,
    args: [join(benchDir, 'servers/node-http-hello.mjs')],
  },
  {
    name: 'fastify',
    label: 'fastify',
    command: process.execPath,
    args: [join(benchDir, 'servers/fastify-hello.mjs')],
  },
];
let fastifyVersion;
try {
  fastifyVersion = (await import('fastify/package.json', { with: { type: 'json' } })).default.version;
} catch {
  console.error('note: fastify is not installed (run `npm ci` at the repo root); skipping it');
  configs = configs.filter((c) => c.name !== 'fastify');
}
if (opts.only !== undefined) {
  const wanted = opts.only.split(',').map((s) => s.trim());
  const unknown = wanted.filter((w) => !configs.some((c) => c.name === w));
  if (unknown.length > 0) {
    console.error(`unknown or unavailable server(s): ${unknown.join(', ')}\n${usage}`);
    process.exit(2);
  }
  configs = configs.filter((c) => wanted.includes(c.name));
}

const fingerprintBefore = codeFingerprint(ours);

const cores = defaultCores();
if (taskset() === undefined) console.error('note: taskset not found; processes are not pinned to cores');
// The harness itself sits with wrk on the client core, away from the server.
else pinPid(process.pid, cores.client);
const restoreAutogroup = opts['no-autogroup'] ? () => {} : raiseAutogroup(-10);

const perRun = settings.warmupS + settings.durationS + 1;
console.error(
  `hello benchmark: ${configs.map((c) => c.name).join(', ')}; ${settings.rounds} round(s) × ` +
    `(${settings.warmupS} s warm-up + ${settings.durationS} s); wrk -t${settings.threads} -c${settings.connections}; ` +
    `server on core ${cores.server}, wrk on core ${cores.client}; about ${Math.ceil((settings.rounds * configs.length * perRun) / 60)} min`,
);

let report;
try {
  report = await runRounds(configs, {
    ...settings,
    cores,
    onWait: (busyPct, waitedS) => {
      // One line when the wait starts, then one every 15 s.
      if (waitedS < 1.5 || Math.floor(waitedS / 15) !== Math.floor((waitedS - 1) / 15)) {
        console.error(
          `  waiting for a quiet box: others use ${busyPct.toFixed(0)}% of a core (${waitedS.toFixed(0)} s)`,
        );
      }
    },
    onRun: (run, r) => {
      const noisy = run.discarded
        ? '  (noisy: repeating)'
        : run.noisy
          ? '  (noisy; retries used up: the least disturbed attempt is kept)'
          : '';
      console.error(
        `  round ${r} ${run.name.padEnd(10)} ${Math.round(run.requestsPerS).toString().padStart(7)} req/s  ` +
          `p50 ${run.latencyUs.p50} µs  p99 ${run.latencyUs.p99} µs  ` +
          `${run.serverCpuUsPerRequest?.toFixed(2) ?? '–'} µs CPU/req  server ${run.serverCpuPctOfCore.toFixed(0)}% of a core  ` +
          `other ${run.otherCpuPctOfCore.toFixed(1)}%  errors ${run.errorCount}${noisy}`,
      );
    },
  });
} finally {
  restoreAutogroup();
}

const fingerprintAfter = codeFingerprint(ours);
const rpsRatio = pairedRatios(report, baseline);
const cpuRatio = pairedRatios(report, baseline, (run) => run.serverCpuUsPerRequest);
const base = report.results.find((r) => r.name === baseline);
const range = (s, digits = 0, unit = '') =>
  s === undefined
    ? '–'
    : `${round(s.median, digits).toFixed(digits)}${unit} (${round(s.min, digits).toFixed(digits)}–${round(s.max, digits).toFixed(digits)})`;
const header = [
  'server',
  'req/s median (min–max)',
  'p50 µs',
  'p99 µs',
  'CPU µs/req (min–max)',
  'RSS MB',
  'req/s vs node:http',
  'CPU/req vs node:http',
];
const rows = report.results.map((r) => {
  const s = r.summary;
  const vs = (paired, ours, theirs) =>
    base === undefined || paired === undefined
      ? '–'
      : `${(ours / theirs).toFixed(2)}× (${paired.min.toFixed(2)}–${paired.max.toFixed(2)})`;
  const flags = [s.errors > 0 ? `${s.errors} errors` : '', s.noisyRuns > 0 ? `${s.noisyRuns} noisy` : '']
    .filter(Boolean)
    .join(', ');
  return [
    r.label + (flags !== '' ? ` [${flags}]` : ''),
    range(s.requestsPerS),
    String(Math.round(s.p50Us.median)),
    String(Math.round(s.p99Us.median)),
    range(s.serverCpuUsPerRequest, 2),
    (s.rssKb.median / 1024).toFixed(0),
    vs(rpsRatio[r.name], s.requestsPerS.median, base?.summary.requestsPerS.median),
    vs(cpuRatio[r.name], s.serverCpuUsPerRequest.median, base?.summary.serverCpuUsPerRequest.median),
  ];
});

const otherMax = Math.max(...report.results.flatMap((r) => r.runs.map((x) => x.otherCpuPctOfCore)));
const lines = [
  '',
  `hello: wrk -t${settings.threads} -c${settings.connections} -d${settings.durationS}s --timeout 5s, ` +
    `${settings.rounds} round(s), ${settings.warmupS} s warm-up; node ${report.machine.node}` +
    (fastifyVersion !== undefined ? `, fastify ${fastifyVersion}` : ''),
  formatTable(header, rows),
  `ratios: median over median; in brackets the min–max of the per-round ratios (same round, same conditions).`,
  `other CPU on the box during kept measured windows: up to ${otherMax.toFixed(1)}% of a core` +
    ` (limit ${settings.maxOtherCpuPct}%; ${report.discarded.length} noisy attempt(s) discarded)` +
    (otherMax > settings.maxOtherCpuPct ? ' — still noisy, re-run when the box is quiet' : ''),
];
if (fingerprintAfter !== fingerprintBefore) {
  lines.push('WARNING: packages/core/dist or examples/dist/hello.js changed during the run: mummyx rounds mix builds');
}

mkdirSync(join(benchDir, 'results'), { recursive: true });
const stamp = report.started.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
const file = join(benchDir, 'results', `http-${stamp}.json`);
const dirty = git(['status', '--porcelain', '--untracked-files=no']);
writeFileSync(
  file,
  `${JSON.stringify(
    {
      benchmark: 'http-hello',
      git: { commit: git(['rev-parse', 'HEAD']), dirty: dirty === undefined ? undefined : dirty !== '' },
      codeFingerprint: { before: fingerprintBefore, after: fingerprintAfter },
      baseline,
      ratios: { requestsPerS: rpsRatio, serverCpuUsPerRequest: cpuRatio },
      fastifyVersion,
      ...report,
    },
    null,
    2,
  )}\n`,
);
lines.push(`results: ${file}`);
console.log(lines.join('\n'));
