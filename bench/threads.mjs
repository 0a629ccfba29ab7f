// Worker-pool benchmark: what the thread pool of @mummyx/core buys and costs, side by side in one run.
//   1. blocking — the 10 ms blocking handler (examples/dist/blocking.js, GET / waits 10 ms in
//      Atomics.wait): ours with a fixed pool of 100 workers (THREADS=100), ours elastic
//      (THREADS=2-128), raw node:http with the same blocking handler, raw node:http with an async
//      10 ms setTimeout; against the physical limit connections / 10 ms (100 / 10 ms = 10,000 req/s).
//      Our pools are warmed at least 15 s (each worker's V8 optimizes its code only after it has
//      seen enough requests), then on while their rate grows, the elastic one grows or a worker is
//      still starting (the example's /stats route says), up to 30 s: the steady state.
//   2. hello — "Hello, World!" through the pool (bench/servers/mummyx-hello-threads.mjs, THREADS 1, 2, 4)
//      against the same app inline (THREADS=0), with raw node:http hello as a reference.
//   3. startup — spawn → `listening` for THREADS=100 vs THREADS=0 (examples/dist/blocking.js), the CPU
//      spent by then, and RSS idle 1 s later; the difference / 100 is the cost of one worker.
//   4. coldstart — the blocking example with THREADS=100 loaded by wrk the moment it prints
//      `listening`: its rate in the first 2 s and the first 5 s, against its own warmed rate (after
//      the pool warm-up more), per round.
// Method (bench/README.md, from ../shared/reference/benchmarking.md beside the repository):
// wrk -t1 -c100 -d10s --timeout 5s, 2 s warm-up,
// 3 rounds alternating the servers, median and min–max, server CPU µs/request from /proc/PID/stat.
// Every section runs twice: "pinned" (server process — IO thread AND all its worker threads — on
// core 0, wrk and this script on core 1) and "unpinned" (server, wrk and this script free to use
// both cores). The tables go to stdout, progress to stderr, everything to bench/results/threads-*.json.
//
// Full run: ~25 min on a quiet box (each mode ~12 min; 100 workers take ~12 s to start on one core),
// much longer on a busy one (runs wait for a quiet box and noisy runs are repeated). `--quick`
// (1 round of 5 s) takes ~4 min. Needs examples/dist (`npm run build`) and wrk.
//
// Usage: node bench/threads.mjs [--quick] [--rounds N] [--duration S] [--warmup S]
//        [--pool-warmup S] [--pool-max-warmup S] [--connections C] [--sections blocking,hello,startup,coldstart]
//        [--modes pinned,unpinned] [--max-other PCT] [--retries N] [--quiet-wait S] [--no-autogroup]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import {
  codeFingerprint,
  git,
  benchDir,
  formatTable,
  machineInfo,
  parseArgsOrExit,
  pinPid,
  raiseAutogroup,
  repoRoot,
  stats,
  taskset,
  waitForQuiet,
} from './lib/harness.mjs';
import { measureColdStart, roundRatios, runAlternating, runStartupRounds } from './lib/threads-measure.mjs';

const usage =
  'usage: node bench/threads.mjs [--quick] [--rounds N] [--duration S] [--warmup S] [--pool-warmup S] [--pool-max-warmup S]\n' +
  '       [--connections C] [--sections blocking,hello,startup,coldstart] [--modes pinned,unpinned]\n' +
  '       [--max-other PCT] [--retries N] [--quiet-wait S] [--no-autogroup]\n' +
  '  --quick = --rounds 1 --duration 5 --warmup 1 --pool-warmup 3 --pool-max-warmup 15 (explicit options still win)';

const opts = parseArgsOrExit(
  process.argv.slice(2),
  {
    quick: 'flag',
    rounds: 'number',
    duration: 'number',
    warmup: 'number',
    'pool-warmup': 'number',
    'pool-max-warmup': 'number',
    connections: 'number',
    sections: 'string',
    modes: 'string',
    'max-other': 'number',
    retries: 'string',
    'quiet-wait': 'number',
    'no-autogroup': 'flag',
    help: 'flag',
  },
  usage,
);

const quick = opts.quick === true;
const settings = {
  quick,
  rounds: Math.round(opts.rounds ?? (quick ? 1 : 3)),
  durationS: Math.round(opts.duration ?? (quick ? 5 : 10)),
  warmupS: Math.round(opts.warmup ?? (quick ? 1 : 2)),
  poolWarmupS: Math.round(opts['pool-warmup'] ?? (quick ? 3 : 15)),
  poolMaxWarmupS: Math.round(opts['pool-max-warmup'] ?? (quick ? 15 : 30)),
  connections: Math.round(opts.connections ?? 100),
  threads: 1,
  maxOtherCpuPct: opts['max-other'] ?? 10,
  retries: Math.max(0, Math.round(Number(opts.retries ?? 2)) || 0),
  quietWaitS: opts['quiet-wait'] ?? 120,
  handlerMs: 10,
  startupWorkers: 100,
};
const allSections = ['startup', 'coldstart', 'blocking', 'hello'];
const allModes = ['pinned', 'unpinned'];
const pickList = (text, all, what) => {
  if (text === undefined) return all;
  const wanted = text.split(',').map((s) => s.trim());
  const unknown = wanted.filter((w) => !all.includes(w));
  if (unknown.length > 0) {
    console.error(`unknown ${what}: ${unknown.join(', ')}\n${usage}`);
    process.exit(2);
  }
  return all.filter((s) => wanted.includes(s)); // fixed order: startup first (its inline RSS is reused)
};
const sections = pickList(opts.sections, allSections, 'section(s)');
const modes = pickList(opts.modes, allModes, 'mode(s)');

const blockingJs = join(repoRoot, 'examples/dist/blocking.js');
const servers = join(benchDir, 'servers');
if (!existsSync(blockingJs)) {
  console.error(`${blockingJs} is missing: run \`npm run build\` first.`);
  process.exit(1);
}
try {
  execFileSync('wrk', ['-v'], { stdio: 'ignore', timeout: 5_000 });
} catch (error) {
  if (error.code === 'ENOENT') {
    console.error('wrk not found: install it (apt-get install -y wrk) or run bash bench/run.sh once.');
    process.exit(1);
  }
  // `wrk -v` exits 1 after printing its version: it is there.
}
const ncpu = availableParallelism();
if (taskset() === undefined) console.error('note: taskset not found: nothing is pinned, "pinned" runs are not pinned');
if (ncpu < 2) console.error('note: one core only: server and wrk share it in every mode');

// ---------------------------------------------------------------------------------------------
// Configurations

const node = process.execPath;
const limitRps = (settings.connections * 1_000) / settings.handlerMs;

// Each worker is a V8 instance of its own that sees 1/100 of the requests: V8 goes on optimizing
// their code for 10-15 s under this load (the rate climbs from about half its final value). Our
// pools warm up at least the pool warm-up, then on while their rate grows, an elastic pool grows
// or /stats shows a worker still starting.
const poolWarmup = {
  warmupS: settings.poolWarmupS,
  growUntilStableS: Math.max(settings.poolWarmupS, settings.poolMaxWarmupS),
  statsPath: '/stats',
};

const blockingConfigs = [
  {
    name: 'fixed-100',
    label: 'ours, fixed pool THREADS=100',
    command: node,
    args: [blockingJs],
    env: { THREADS: '100' },
    ...poolWarmup,
  },
  {
    name: 'elastic-2-128',
    label: 'ours, elastic THREADS=2-128',
    command: node,
    args: [blockingJs],
    env: { THREADS: '2-128' },
    ...poolWarmup,
  },
  {
    name: 'node-blocking',
    label: 'node:http, blocking handler',
    command: node,
    args: [join(servers, 'node-http-blocking.mjs')],
  },
  {
    name: 'node-sleep',
    label: 'node:http, async setTimeout',
    command: node,
    args: [join(servers, 'node-http-sleep.mjs')],
  },
];

const helloApp = join(servers, 'mummyx-hello-threads.mjs');
const helloConfigs = [
  ...[0, 1, 2, 4].map((n) => ({
    name: `hello-${n}`,
    label: n === 0 ? 'ours, inline (THREADS=0)' : `ours, pool THREADS=${n}`,
    command: node,
    args: [helloApp],
    env: { THREADS: String(n) },
  })),
  {
    name: 'node-hello',
    label: 'raw node:http hello (reference)',
    command: node,
    args: [join(servers, 'node-http-hello.mjs')],
  },
];

const startupConfigs = [
  { name: 'startup-0', label: 'THREADS=0 (inline)', command: node, args: [blockingJs], env: { THREADS: '0' } },
  {
    name: `startup-${settings.startupWorkers}`,
    label: `THREADS=${settings.startupWorkers} (fixed)`,
    command: node,
    args: [blockingJs],
    env: { THREADS: String(settings.startupWorkers) },
  },
];

const coldConfig = {
  name: 'cold-100',
  label: 'ours, fixed pool THREADS=100, from listen',
  command: node,
  args: [blockingJs],
  env: { THREADS: '100' },
};

function coresFor(mode) {
  const all = ncpu > 1 ? `0-${ncpu - 1}` : '0';
  if (mode === 'pinned') return { server: 0, client: ncpu > 1 ? 1 : 0, harness: ncpu > 1 ? 1 : 0 };
  return { server: all, client: all, harness: all };
}

// ---------------------------------------------------------------------------------------------
// Progress

const onWait = (busyPct, waitedS) => {
  if (waitedS < 1.5 || Math.floor(waitedS / 15) !== Math.floor((waitedS - 1) / 15)) {
    console.error(`    waiting for a quiet box: others use ${busyPct.toFixed(0)}% of a core (${waitedS.toFixed(0)} s)`);
  }
};
const onRun = (run, r) => {
  const flag = run.discarded ? '  (noisy: discarded, repeating)' : run.noisy ? '  (noisy: kept, retries used up)' : '';
  const t = run.osThreads;
  console.error(
    `    round ${r} ${run.name.padEnd(14)} ${Math.round(run.requestsPerS).toString().padStart(7)} req/s  ` +
      `p50 ${(run.latencyUs.p50 / 1e3).toFixed(2)} ms  p99 ${(run.latencyUs.p99 / 1e3).toFixed(2)} ms  ` +
      `${run.serverCpuUsPerRequest?.toFixed(1)} µs CPU/req  server ${run.serverCpuPctOfCore.toFixed(0)}% of a core  ` +
      `RSS ${(run.memory.rssKb / 1024).toFixed(0)} MB  OS threads ${t?.first}→${t?.last} (max ${t?.max})  ` +
      `other ${run.otherCpuPctOfCore.toFixed(1)}%  errors ${run.errorCount}${flag}`,
  );
};
const onStartup = (run, r) => {
  console.error(
    `    round ${r} ${run.name.padEnd(12)} listening after ${run.listeningMs.toFixed(0)} ms, ` +
      `CPU ${run.cpuAtListeningMs.toFixed(0)} ms, RSS ${(run.memory.rssKb / 1024).toFixed(1)} MB, ${run.osThreads} OS threads`,
  );
};

// ---------------------------------------------------------------------------------------------
// Run

const fingerprintBefore = codeFingerprint(blockingJs);
const restoreAutogroup = opts['no-autogroup'] ? () => {} : raiseAutogroup(-10);
const started = new Date().toISOString();
const perRun = settings.warmupS + settings.durationS + 2;
const estimateS =
  modes.length *
  // 100 workers take ~5–12 s to start (at ~50–100 ms CPU each) — in the start-up section and again
  // for the fixed pool in the blocking section; both pools warm up at least the pool warm-up, and
  // may run past it.
  ((sections.includes('startup') ? settings.rounds * (4 + 14) : 0) +
    (sections.includes('coldstart') ? settings.rounds * (14 + 5 + settings.poolWarmupS + settings.durationS) : 0) +
    (sections.includes('blocking')
      ? settings.rounds * (blockingConfigs.length * perRun + 12 + 2 * (settings.poolWarmupS + 4 - settings.warmupS))
      : 0) +
    (sections.includes('hello') ? settings.rounds * helloConfigs.length * perRun : 0));
console.error(
  `threads benchmark: sections ${sections.join(', ')}; modes ${modes.join(', ')}; ${settings.rounds} round(s) × ` +
    `(${settings.warmupS} s warm-up [our pools ${settings.poolWarmupS} s] + ${settings.durationS} s); ` +
    `wrk -t1 -c${settings.connections}; about ${Math.ceil(estimateS / 60)} min on a quiet box`,
);

const measure = {
  rounds: settings.rounds,
  warmupS: settings.warmupS,
  durationS: settings.durationS,
  connections: settings.connections,
  threads: settings.threads,
  maxOtherCpuPct: settings.maxOtherCpuPct,
  retries: settings.retries,
  quietWaitS: settings.quietWaitS,
  onRun,
  onWait,
};

const out = {};
try {
  for (const mode of modes) {
    const cores = coresFor(mode);
    // This script sits with wrk (pinned) or floats (unpinned); -a moves all its threads.
    if (taskset() !== undefined) pinPid(process.pid, cores.harness);
    console.error(
      `\n[${mode}] server on core(s) ${cores.server} (the whole process: IO thread and every worker thread), ` +
        `wrk and this script on core(s) ${cores.client}`,
    );
    const result = { cores };
    if (sections.includes('startup')) {
      console.error(`  startup: ${startupConfigs.map((c) => c.label).join(' vs ')}`);
      result.startup = await runStartupRounds(startupConfigs, {
        rounds: settings.rounds,
        core: cores.server,
        maxOtherCpuPct: settings.maxOtherCpuPct,
        quietWaitS: settings.quietWaitS,
        onRun: onStartup,
        onWait,
      });
    }
    if (sections.includes('coldstart')) {
      console.error(`  coldstart: ${coldConfig.label}`);
      result.coldstart = [];
      for (let r = 1; r <= settings.rounds; r++) {
        await waitForQuiet({ maxBusyPct: settings.maxOtherCpuPct, maxWaitS: settings.quietWaitS, onWait });
        const run = await measureColdStart(coldConfig, {
          cores,
          connections: settings.connections,
          warmS: settings.poolWarmupS,
          measureS: settings.durationS,
        });
        run.round = r;
        console.error(
          `    round ${r} listening after ${run.listeningMs.toFixed(0)} ms; first 2 s ${Math.round(run.first2sRps)} req/s ` +
            `(${run.first2sRatio.toFixed(2)}× warmed), first 5 s ${Math.round(run.first5sRps)} ` +
            `(${run.first5sRatio.toFixed(2)}×), warmed ${Math.round(run.warmedRps)}; errors ${run.errors}`,
        );
        result.coldstart.push(run);
      }
    }
    if (sections.includes('blocking')) {
      console.error(`  blocking 10 ms: ${blockingConfigs.map((c) => c.name).join(', ')}`);
      result.blocking = await runAlternating(blockingConfigs, { ...measure, cores });
    }
    if (sections.includes('hello')) {
      console.error(`  hello: ${helloConfigs.map((c) => c.name).join(', ')}`);
      result.hello = await runAlternating(helloConfigs, { ...measure, cores });
    }
    out[mode] = result;
  }
} finally {
  restoreAutogroup();
}
const fingerprintAfter = codeFingerprint(blockingJs);

// ---------------------------------------------------------------------------------------------
// Tables

const fx = (x, digits = 0) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits));
const grouped = (x) => (x === undefined ? '–' : Math.round(x).toLocaleString('en-US'));
const range = (s, digits = 0, scale = 1) =>
  s === undefined ? '–' : `${fx(s.median * scale, digits)} (${fx(s.min * scale, digits)}–${fx(s.max * scale, digits)})`;
const rangeGrouped = (s) => (s === undefined ? '–' : `${grouped(s.median)} (${grouped(s.min)}–${grouped(s.max)})`);
const ratio = (s) => (s === undefined ? '–' : `${s.median.toFixed(2)}× (${s.min.toFixed(2)}–${s.max.toFixed(2)})`);
const flags = (summary) =>
  [summary.errors > 0 ? `${summary.errors} errors` : '', summary.noisyRuns > 0 ? `${summary.noisyRuns} noisy` : '']
    .filter(Boolean)
    .join(', ');
const labelOf = (r) => r.label + (flags(r.summary) !== '' ? ` [${flags(r.summary)}]` : '');

/** Per-round (B − A) / n from two start-up result lists (same round = same conditions). */
function perWorker(a, b, metric, n) {
  return stats(b.runs.map((run, i) => (a.runs[i] === undefined ? NaN : (metric(run) - metric(a.runs[i])) / n)));
}

const derived = {};
const lines = [];
const modeTitle = {
  pinned: 'PRIMARY — pinned: the whole server process (IO thread + all worker threads) on core 0, wrk on core 1',
  unpinned: 'SECONDARY — unpinned: server, wrk and this script free to use both cores (no taskset)',
};
for (const mode of modes) {
  const result = out[mode];
  const d = (derived[mode] = {});
  lines.push('', `=== ${modeTitle[mode]} ===`);

  let inlineIdleRssKb;
  if (result.startup !== undefined) {
    const [a, b] = result.startup;
    const n = settings.startupWorkers;
    inlineIdleRssKb = a.summary.rssKb?.median;
    d.startupPerWorker = {
      listeningMs: perWorker(a, b, (x) => x.listeningMs, n),
      cpuAtListeningMs: perWorker(a, b, (x) => x.cpuAtListeningMs, n),
      rssKb: perWorker(a, b, (x) => x.memory.rssKb, n),
      osThreads: perWorker(a, b, (x) => x.osThreads, n),
    };
    const pw = d.startupPerWorker;
    const rows = [a, b].map((r) => [
      r.label,
      range(r.summary.listeningMs),
      range(r.summary.cpuAtListeningMs),
      range(r.summary.rssKb, 1, 1 / 1024),
      fx(r.summary.osThreads?.median),
    ]);
    rows.push([
      `per worker: (${n} − 0) / ${n}`,
      range(pw.listeningMs, 1),
      range(pw.cpuAtListeningMs, 1),
      range(pw.rssKb, 2, 1 / 1024),
      fx(pw.osThreads?.median, 2),
    ]);
    lines.push(
      '',
      `[${mode}] 3. pool start-up (examples/dist/blocking.js; process spawn → "listening"; RSS idle 1 s after listening), ${settings.rounds} round(s)`,
      formatTable(['server', 'start → listening ms', 'CPU by listening ms', 'RSS MB', 'OS threads'], rows),
      `per worker = per-round difference ÷ ${n}, median (min–max). ${n} workers cost ` +
        `${fx(pw.listeningMs?.median * n, 0)} ms wall and ${fx(pw.cpuAtListeningMs?.median * n, 0)} ms CPU more, ` +
        `and ${fx((pw.rssKb?.median * n) / 1024, 0)} MB more RSS.`,
    );
  }

  if (result.coldstart !== undefined) {
    const runs = result.coldstart;
    const pick = (f) => stats(runs.map(f));
    d.coldstart = {
      listeningMs: pick((x) => x.listeningMs),
      first2sRatio: pick((x) => x.first2sRatio),
      first5sRatio: pick((x) => x.first5sRatio),
    };
    lines.push(
      '',
      `[${mode}] 4. cold pool (examples/dist/blocking.js, THREADS=100): wrk -t1 -c${settings.connections} from the ` +
        `moment it prints "listening" (2 s, then 3 s), then ${settings.poolWarmupS} s more, then the warmed rate ` +
        `over ${settings.durationS} s; ${settings.rounds} round(s)`,
      formatTable(
        [
          'start → listening ms',
          'first 2 s req/s',
          'first 5 s req/s',
          'warmed req/s',
          'first 2 s vs warmed',
          'first 5 s vs warmed',
        ],
        [
          [
            range(d.coldstart.listeningMs),
            rangeGrouped(pick((x) => x.first2sRps)),
            rangeGrouped(pick((x) => x.first5sRps)),
            rangeGrouped(pick((x) => x.warmedRps)),
            ratio(d.coldstart.first2sRatio),
            ratio(d.coldstart.first5sRatio),
          ],
        ],
      ),
    );
  }

  if (result.blocking !== undefined) {
    const res = result.blocking.results;
    const byName = Object.fromEntries(res.map((r) => [r.name, r]));
    const vsSleep = roundRatios(result.blocking, 'node-sleep');
    // Workers from OS threads: the fixed pool has exactly 100, so its other threads = count − 100.
    const fixedThreads = byName['fixed-100']?.summary.osThreadsLast?.median;
    const otherThreads = fixedThreads === undefined ? undefined : fixedThreads - 100;
    const fixedRss = byName['fixed-100']?.summary.rssKb?.median;
    const elastic = byName['elastic-2-128'];
    d.elastic = {
      otherThreads,
      workersAtEnd:
        elastic && otherThreads !== undefined
          ? stats(elastic.runs.map((x) => x.osThreads.last - otherThreads))
          : undefined,
      workersMax:
        elastic && otherThreads !== undefined
          ? stats(elastic.runs.map((x) => x.osThreads.max - otherThreads))
          : undefined,
      workersByRss:
        elastic && fixedRss !== undefined && inlineIdleRssKb !== undefined
          ? (100 * (elastic.summary.rssKb.median - inlineIdleRssKb)) / (fixedRss - inlineIdleRssKb)
          : undefined,
    };
    const workersCell = (r) => {
      if (r.name === 'fixed-100') return '100';
      if (r.name === 'elastic-2-128') {
        const e = d.elastic;
        if (e.workersAtEnd === undefined) return '?';
        return (
          `${fx(e.workersAtEnd.median)} (${fx(e.workersAtEnd.min)}–${fx(e.workersAtEnd.max)})` +
          (e.workersByRss !== undefined ? `, ≈${fx(e.workersByRss)} by RSS` : '')
        );
      }
      return '– (1 JS thread)';
    };
    const rows = res.map((r) => {
      const s = r.summary;
      return [
        labelOf(r),
        rangeGrouped(s.requestsPerS),
        `${fx((100 * s.requestsPerS.median) / limitRps, 1)} %`,
        fx(s.p50Us.median / 1e3, 1),
        fx(s.p99Us.median / 1e3, 1),
        range(s.serverCpuUsPerRequest, 1),
        fx(s.rssKb.median / 1024),
        workersCell(r),
        ratio(vsSleep[r.name]),
      ];
    });
    rows.push([
      `physical limit (${settings.connections} conns / ${settings.handlerMs} ms)`,
      grouped(limitRps),
      '100.0 %',
      fx(settings.handlerMs, 1),
      '',
      '',
      '',
      '',
      '',
    ]);
    const otherMax = Math.max(...res.flatMap((r) => r.runs.map((x) => x.otherCpuPctOfCore)));
    lines.push(
      '',
      `[${mode}] 1. blocking 10 ms handler (GET / → Atomics.wait 10 ms → 26 bytes): wrk -t1 -c${settings.connections} ` +
        `-d${settings.durationS}s --timeout 5s, ${settings.rounds} round(s), ${settings.warmupS} s warm-up ` +
        `(our pools: ${settings.poolWarmupS} s, then 2 s more at a time while the ` +
        `thread count or the rate still grows or /stats shows workers still starting, ` +
        `up to ${settings.poolMaxWarmupS} s); node ${process.version}`,
      formatTable(
        [
          'server',
          'req/s median (min–max)',
          '% of limit',
          'p50 ms',
          'p99 ms',
          'CPU µs/req (min–max)',
          'RSS MB',
          'workers (end of run)',
          'req/s vs node:http sleep',
        ],
        rows,
      ),
      `workers: OS threads of the server at the end of the measured window minus its non-worker threads ` +
        `(${fx(otherThreads)} = fixed pool's count − 100); "by RSS" = 100 × (RSS − inline idle RSS) ÷ ` +
        `(fixed-100 RSS − inline idle RSS).`,
      // Both pools warm up until steady, so each one's warm-up is printed.
      ...res
        .filter((r) => r.name === 'fixed-100' || r.name === 'elastic-2-128')
        .map(
          (r) =>
            `${r.name} warm-up per round: ${r.runs
              .map(
                (x) =>
                  `${x.warmupS} s (OS threads ${x.warmupThreadCounts.join('→')}; workers still starting ` +
                  `${x.warmupStartingWorkers?.join('→') || '?'})`,
              )
              .join('; ')}; OS threads in the measured window: ${r.runs
              .map((x) => `${x.osThreads.first}→${x.osThreads.last}`)
              .join('; ')}`,
        ),
      // Where the time above 10 ms goes, from the pool's own waitTime and runTime (server.stats()).
      ...res
        .filter((r) => r.runs.some((x) => x.poolWindowMs !== undefined))
        .map(
          (r) =>
            `${r.name} mean latency per round = pool wait + pool run + the rest: ${r.runs
              .map((x) => {
                const pool = x.poolWindowMs;
                if (pool?.runMs === undefined) return '?';
                const total = x.latencyUs.mean / 1000;
                const rest = total - (pool.waitMs ?? 0) - pool.runMs;
                return `${fx(total, 2)} = ${fx(pool.waitMs ?? 0, 2)} + ${fx(pool.runMs, 2)} + ${fx(rest, 2)} ms`;
              })
              .join('; ')}`,
        ),
      `(pool run: from a worker beginning a request to its response on the IO thread — the 10 ms wait, the ` +
        `handler, waking the worker and the IO thread; the rest: the IO thread reading and writing the ` +
        `connection, the kernel and wrk)`,
      `other CPU on the box during kept measured windows: up to ${fx(otherMax, 1)}% of a core ` +
        `(limit ${settings.maxOtherCpuPct}%; ${result.blocking.discarded.length} noisy run(s) discarded and repeated)`,
    );
  }

  if (result.hello !== undefined) {
    const res = result.hello.results;
    const vsInline = roundRatios(result.hello, 'hello-0');
    const cpuVsInline = roundRatios(result.hello, 'hello-0', (x) => x.serverCpuUsPerRequest);
    const vsNode = roundRatios(result.hello, 'node-hello');
    const rows = res.map((r) => {
      const s = r.summary;
      return [
        labelOf(r),
        rangeGrouped(s.requestsPerS),
        fx(s.p50Us.median),
        fx(s.p99Us.median),
        range(s.serverCpuUsPerRequest, 1),
        fx(s.rssKb.median / 1024),
        ratio(vsInline[r.name]),
        ratio(cpuVsInline[r.name]),
        ratio(vsNode[r.name]),
      ];
    });
    const otherMax = Math.max(...res.flatMap((r) => r.runs.map((x) => x.otherCpuPctOfCore)));
    lines.push(
      '',
      `[${mode}] 2. hello through the pool vs inline (bench/servers/mummyx-hello-threads.mjs): wrk -t1 ` +
        `-c${settings.connections} -d${settings.durationS}s --timeout 5s, ${settings.rounds} round(s), ${settings.warmupS} s warm-up`,
      formatTable(
        [
          'server',
          'req/s median (min–max)',
          'p50 µs',
          'p99 µs',
          'CPU µs/req (min–max)',
          'RSS MB',
          'req/s vs inline',
          'CPU/req vs inline',
          'req/s vs node:http',
        ],
        rows,
      ),
      `other CPU on the box during kept measured windows: up to ${fx(otherMax, 1)}% of a core ` +
        `(limit ${settings.maxOtherCpuPct}%; ${result.hello.discarded.length} noisy run(s) discarded and repeated)`,
    );
  }
}
lines.push(
  '',
  'ratios "A× (min–max)": median and range of the per-round ratios (the runs of one round are seconds apart, ' +
    'so they saw the same machine conditions).',
);
if (fingerprintAfter !== fingerprintBefore) {
  lines.push('WARNING: packages/core/dist or examples/dist/blocking.js changed during the run: rounds mix builds');
}

mkdirSync(join(benchDir, 'results'), { recursive: true });
const stamp = started.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
const file = join(benchDir, 'results', `threads-${stamp}.json`);
const dirty = git(['status', '--porcelain', '--untracked-files=no']);
writeFileSync(
  file,
  `${JSON.stringify(
    {
      benchmark: 'threads',
      started,
      finished: new Date().toISOString(),
      command: `node bench/threads.mjs ${process.argv.slice(2).join(' ')}`.trim(),
      git: { commit: git(['rev-parse', 'HEAD']), dirty: dirty === undefined ? undefined : dirty !== '' },
      codeFingerprint: { before: fingerprintBefore, after: fingerprintAfter },
      settings: { ...settings, sections, modes, limitRps },
      machine: machineInfo(),
      derived,
      modes: out,
    },
    null,
    2,
  )}\n`,
);
lines.push(`results: ${file}`);
console.log(lines.join('\n'));
