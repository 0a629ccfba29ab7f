// Measurement pieces for bench/threads.mjs, built on bench/lib/harness.mjs (servers and wrk
// started and stopped by PID, /proc readers, quiet-box wait). What this adds to the harness:
//   - a per-configuration warm-up (an elastic pool gets longer to grow before the measured window),
//   - the server's OS thread count (/proc/PID/task) sampled through the measured window — each
//     worker_threads worker is one OS thread, so it tells how many workers an elastic pool reached,
//   - `cores` given as a taskset list ('0-1' = not pinned to one core),
//   - a start-up measurement: spawn → `listening` wall time, CPU and RSS of a fresh server.
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  clockTicks,
  freePort,
  readProcessCpuTicks,
  readProcessMemory,
  readSystemCpu,
  runWrk,
  startServer,
  stats,
  stopServer,
  waitForQuiet,
} from './harness.mjs';

/** Number of OS threads of a process (undefined once it is gone). */
export function readThreadCount(pid) {
  try {
    return readdirSync(`/proc/${pid}/task`).length;
  } catch {
    return undefined;
  }
}

/** Busy ticks of the whole box between two readSystemCpu() snapshots. */
function boxBusyTicks(before, after) {
  return after['cpu'].busy - before['cpu'].busy;
}

function perCoreBusyPct(before, after) {
  const out = {};
  for (const name of Object.keys(after)) {
    if (name === 'cpu' || before[name] === undefined) continue;
    const total = after[name].total - before[name].total;
    if (total > 0) out[name] = Math.round((1000 * (after[name].busy - before[name].busy)) / total) / 10;
  }
  return out;
}

/** Samples the thread count of `pid` every `everyMs` until stopped; returns { first, last, min, max, samples }. */
function sampleThreads(pid, everyMs) {
  const samples = [];
  const take = () => {
    const n = readThreadCount(pid);
    if (n !== undefined) samples.push(n);
  };
  take();
  const timer = setInterval(take, everyMs);
  return () => {
    clearInterval(timer);
    take();
    if (samples.length === 0) return undefined;
    return {
      first: samples[0],
      last: samples[samples.length - 1],
      min: Math.min(...samples),
      max: Math.max(...samples),
      samples: samples.length,
    };
  };
}

/** A server's stats route (`server.stats()` as JSON): undefined when it has none, null when unreadable. */
async function readStats(server, statsPath) {
  if (statsPath === undefined) return undefined;
  try {
    return await (await fetch(new URL(statsPath, server.url))).json();
  } catch {
    return null;
  }
}

/** The pool's waitTime and runTime from a server's stats route, or undefined. */
async function readPoolTimes(server, statsPath) {
  const pool = (await readStats(server, statsPath))?.pool;
  return pool?.runTime === undefined ? undefined : { wait: pool.waitTime, run: pool.runTime };
}

/**
 * Mean wait and run time (ms) of the requests in the measured window: the pool's figures run
 * from its start, and count × mean before and after the window give the window's own sums.
 */
function windowMeans(before, after) {
  if (before === undefined || after === undefined) return undefined;
  const mean = (key) => {
    const count = after[key].count - before[key].count;
    return count > 0 ? (after[key].mean * after[key].count - before[key].mean * before[key].count) / count : undefined;
  };
  return { waitMs: mean('wait'), runMs: mean('run'), requests: after.run.count - before.run.count };
}

/**
 * One measurement: start the server on `cores.server`, warm up for `config.warmupS ?? warmupS`
 * (unmeasured), then the measured wrk window with server CPU, box CPU, memory and thread count,
 * then stop the server by PID.
 * config: { name, command, args?, env?, path?, warmupS?, readyTimeoutMs? }.
 */
export async function measureRun(config, { warmupS = 2, durationS = 10, connections = 100, threads = 1, cores }) {
  const port = await freePort();
  const t0 = process.hrtime.bigint();
  const server = await startServer({
    readyTimeoutMs: 60_000,
    ...config,
    port,
    core: cores.server,
  });
  const startMs = Number(process.hrtime.bigint() - t0) / 1e6;
  try {
    const url = new URL(config.path ?? '/', server.url).href;
    // Warm-up: `warmupS` (or the config's own), then — for a growing (elastic) pool, when the
    // config sets `growUntilStableS` — more 2 s chunks while the thread count still rises or the
    // last chunk served over 5 % more than the one before (new workers exist as threads before
    // they have loaded the app: on one core that takes seconds), up to that many seconds in all,
    // so the measured window sees the grown, ready pool.
    let warm = config.warmupS ?? warmupS;
    let warmup;
    const growth = [readThreadCount(server.pid)];
    const rates = [];
    if (warm > 0) warmup = await runWrk({ url, durationS: warm, connections, threads, core: cores.client });
    growth.push(readThreadCount(server.pid));
    const maxWarm = config.growUntilStableS ?? 0;
    // A server with a stats route tells how many of its workers are still loading the app: a
    // thread count that stopped growing says nothing about that, and neither does a rate that
    // grows slowly while they load (on one core, 100 workers take over 10 s).
    const startingCounts = [];
    const readStarting = async () => {
      const stats = await readStats(server, config.statsPath);
      if (stats !== undefined) startingCounts.push(stats === null ? -1 : (stats.pool?.startingWorkers ?? 0));
    };
    await readStarting();
    const stillGrowing = () =>
      startingCounts.at(-1) > 0 ||
      growth.at(-1) > growth.at(-2) ||
      rates.length < 2 ||
      rates.at(-1) > 1.05 * rates.at(-2);
    while (warm > 0 && warm + 2 <= maxWarm && stillGrowing()) {
      warmup = await runWrk({ url, durationS: 2, connections, threads, core: cores.client });
      rates.push(warmup.requests_per_s);
      warm += 2;
      growth.push(readThreadCount(server.pid));
      await readStarting();
    }
    const poolBefore = await readPoolTimes(server, config.statsPath);
    const threadsBefore = readThreadCount(server.pid);
    const tck = clockTicks();
    const sys0 = readSystemCpu();
    const self0 = process.cpuUsage();
    const cpu0 = readProcessCpuTicks(server.pid);
    const stopSampling = sampleThreads(server.pid, 1_000);
    const wall0 = process.hrtime.bigint();
    const wrk = await runWrk({ url, durationS, connections, threads, core: cores.client });
    const wall1 = process.hrtime.bigint();
    const cpu1 = readProcessCpuTicks(server.pid);
    const self = process.cpuUsage(self0);
    const sys1 = readSystemCpu();
    const threadSamples = stopSampling();
    const memory = readProcessMemory(server.pid);
    const poolAfter = await readPoolTimes(server, config.statsPath);
    const wallUs = Number(wall1 - wall0) / 1e3;
    const serverCpuUs = ((cpu1 - cpu0) * 1e6) / tck;
    const harnessCpuUs = self.user + self.system;
    const boxBusyUs = (boxBusyTicks(sys0, sys1) * 1e6) / tck;
    const otherCpuUs = Math.max(0, boxBusyUs - serverCpuUs - wrk.clientCpuUs - harnessCpuUs);
    const errorCount = Object.values(wrk.errors).reduce((a, b) => a + b, 0);
    return {
      name: config.name,
      startToListeningMs: startMs,
      warmupS: warm,
      warmupThreadCounts: growth,
      warmupStartingWorkers: startingCounts,
      warmupRequestsPerS: warmup?.requests_per_s,
      requests: wrk.requests,
      requestsPerS: wrk.requests_per_s,
      durationUs: wrk.duration_us,
      errors: wrk.errors,
      errorCount,
      latencyUs: wrk.latency_us,
      serverCpuUs,
      serverCpuUsPerRequest: wrk.requests > 0 ? serverCpuUs / wrk.requests : undefined,
      serverCpuPctOfCore: (100 * serverCpuUs) / wallUs,
      clientCpuUs: wrk.clientCpuUs,
      clientCpuUsPerRequest: wrk.requests > 0 ? wrk.clientCpuUs / wrk.requests : undefined,
      harnessCpuUs,
      otherCpuPctOfCore: (100 * otherCpuUs) / wallUs,
      coreBusyPct: perCoreBusyPct(sys0, sys1),
      memory,
      osThreads: { beforeMeasured: threadsBefore, ...threadSamples },
      poolWindowMs: windowMeans(poolBefore, poolAfter),
      wallUs,
    };
  } finally {
    await stopServer(server);
  }
}

/**
 * Rounds alternating the configurations (A B C, A B C, …). Before each run it waits (bounded) for
 * a quiet box; a run during which other processes used more than `maxOtherCpuPct` % of a core is
 * discarded and repeated, at most `retries` times (the last attempt is kept, flagged `noisy`).
 * Resolves to { results: [{ name, label, runs, summary }], discarded }.
 */
export async function runAlternating(
  configs,
  { rounds = 3, maxOtherCpuPct = 10, retries = 2, quietWaitS = 120, onRun, onWait, pauseMs = 500, ...measure },
) {
  const runs = new Map(configs.map((c) => [c.name, []]));
  const discarded = [];
  for (let r = 1; r <= rounds; r++) {
    for (const config of configs) {
      for (let attempt = 1; ; attempt++) {
        const quiet = await waitForQuiet({ maxBusyPct: maxOtherCpuPct, maxWaitS: quietWaitS, onWait });
        const run = await measureRun(config, measure);
        run.round = r;
        run.attempt = attempt;
        run.busyBeforePct = quiet.busyPct;
        run.noisy = run.otherCpuPctOfCore > maxOtherCpuPct;
        run.discarded = run.noisy && attempt <= retries;
        onRun?.(run, r);
        await sleep(pauseMs);
        if (!run.discarded) {
          runs.get(config.name).push(run);
          break;
        }
        discarded.push(run);
      }
    }
  }
  const results = configs.map((config) => {
    const list = runs.get(config.name);
    const pick = (f) => stats(list.map(f));
    return {
      name: config.name,
      label: config.label ?? config.name,
      summary: {
        requestsPerS: pick((x) => x.requestsPerS),
        p50Us: pick((x) => x.latencyUs.p50),
        p99Us: pick((x) => x.latencyUs.p99),
        serverCpuUsPerRequest: pick((x) => x.serverCpuUsPerRequest),
        serverCpuPctOfCore: pick((x) => x.serverCpuPctOfCore),
        otherCpuPctOfCore: pick((x) => x.otherCpuPctOfCore),
        rssKb: pick((x) => x.memory.rssKb),
        hwmKb: pick((x) => x.memory.hwmKb),
        osThreadsLast: pick((x) => x.osThreads.last),
        osThreadsMax: pick((x) => x.osThreads.max),
        startToListeningMs: pick((x) => x.startToListeningMs),
        errors: list.reduce((a, x) => a + x.errorCount, 0),
        noisyRuns: list.filter((x) => x.noisy).length,
      },
      runs: list,
    };
  });
  return { results, discarded };
}

/**
 * Per-round ratio of `metric` between each configuration and `baseline` (runs of one round are
 * seconds apart, so they saw the same machine): { name: { median, min, max, n } }.
 */
export function roundRatios(report, baseline, metric = (run) => run.requestsPerS) {
  const base = report.results.find((r) => r.name === baseline);
  if (base === undefined) return {};
  const out = {};
  for (const result of report.results) {
    out[result.name] = stats(result.runs.map((run, i) => metric(run) / metric(base.runs[i])));
  }
  return out;
}

/**
 * Start-up of one fresh server: wall time from spawn until its `listening` line, its CPU by then,
 * and, `settleMs` later (idle, no load), its RSS and OS thread count. Then it is stopped by PID.
 */
export async function measureStartup(config, { core, settleMs = 1_000 }) {
  const port = await freePort();
  const tck = clockTicks();
  const t0 = process.hrtime.bigint();
  const server = await startServer({ readyTimeoutMs: 60_000, ...config, port, core });
  const listeningMs = Number(process.hrtime.bigint() - t0) / 1e6;
  try {
    const cpuAtListeningMs = (readProcessCpuTicks(server.pid) * 1e3) / tck;
    const memoryAtListening = readProcessMemory(server.pid);
    await sleep(settleMs);
    const cpuAfterSettleMs = (readProcessCpuTicks(server.pid) * 1e3) / tck;
    const memory = readProcessMemory(server.pid);
    const osThreads = readThreadCount(server.pid);
    return {
      name: config.name,
      listeningMs,
      cpuAtListeningMs,
      cpuAfterSettleMs,
      memoryAtListening,
      memory,
      osThreads,
      settleMs,
    };
  } finally {
    await stopServer(server);
  }
}

/** Start-up rounds alternating the configurations, each after a (bounded) wait for a quiet box. */
export async function runStartupRounds(
  configs,
  { rounds = 3, core, maxOtherCpuPct = 10, quietWaitS = 120, onRun, onWait, settleMs = 1_000 },
) {
  const runs = new Map(configs.map((c) => [c.name, []]));
  for (let r = 1; r <= rounds; r++) {
    for (const config of configs) {
      const quiet = await waitForQuiet({ maxBusyPct: maxOtherCpuPct, maxWaitS: quietWaitS, onWait });
      const run = await measureStartup(config, { core, settleMs });
      run.round = r;
      run.busyBeforePct = quiet.busyPct;
      onRun?.(run, r);
      runs.get(config.name).push(run);
      await sleep(300);
    }
  }
  return configs.map((config) => {
    const list = runs.get(config.name);
    const pick = (f) => stats(list.map(f));
    return {
      name: config.name,
      label: config.label ?? config.name,
      summary: {
        listeningMs: pick((x) => x.listeningMs),
        cpuAtListeningMs: pick((x) => x.cpuAtListeningMs),
        rssKb: pick((x) => x.memory.rssKb),
        rssAtListeningKb: pick((x) => x.memoryAtListening.rssKb),
        osThreads: pick((x) => x.osThreads),
      },
      runs: list,
    };
  });
}

/**
 * A cold pool's rate: the server is started and, the moment it prints `listening`, wrk runs 2 s,
 * then 3 s more (the first 2 s and the first 5 s after listen), then `warmS` unmeasured, then
 * `measureS` measured (the warmed rate). Ratios are against the warmed rate of the same server.
 */
export async function measureColdStart(config, { cores, connections = 100, warmS = 15, measureS = 5 }) {
  const port = await freePort();
  const t0 = process.hrtime.bigint();
  const server = await startServer({ readyTimeoutMs: 120_000, ...config, port, core: cores.server });
  const listeningMs = Number(process.hrtime.bigint() - t0) / 1e6;
  try {
    const url = new URL(config.path ?? '/', server.url).href;
    const wrk = (durationS) => runWrk({ url, durationS, connections, core: cores.client });
    const first = await wrk(2);
    const next = await wrk(3);
    if (warmS > 0) await wrk(warmS);
    const warmed = await wrk(measureS);
    const first5 = (first.requests + next.requests) / ((first.duration_us + next.duration_us) / 1e6);
    return {
      name: config.name,
      listeningMs,
      first2sRps: first.requests_per_s,
      first5sRps: first5,
      warmedRps: warmed.requests_per_s,
      first2sRatio: first.requests_per_s / warmed.requests_per_s,
      first5sRatio: first5 / warmed.requests_per_s,
      errors: [first, next, warmed].reduce((a, w) => a + Object.values(w.errors).reduce((x, y) => x + y, 0), 0),
    };
  } finally {
    await stopServer(server);
  }
}
