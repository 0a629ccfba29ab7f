// Reusable benchmark harness: pinned servers started and stopped by PID, wrk runs with a JSON
// summary, server CPU and memory from /proc, and alternating rounds with medians and ranges.
// Method: bench/README.md, from ../shared/reference/benchmarking.md beside the repository (wrk,
// server on core 0, wrk on core 1, 2 s warm-up + 10 s measured, rounds alternating A B C, A B C,
// median and min–max).
//
// Every child is tracked by PID and killed when the harness exits, fails or is interrupted;
// every wait is bounded; wrk only ever targets http://127.0.0.1.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const libDir = dirname(fileURLToPath(import.meta.url));
export const benchDir = dirname(libDir);
export const repoRoot = dirname(benchDir);
export const summaryLua = join(libDir, 'summary.lua');

// ---------------------------------------------------------------------------------------------
// Child tracking and cleanup

/** Live children by PID: servers and wrk. Killed on exit, error or signal. */
const children = new Map();
let restoreAutogroup;
let cleanupInstalled = false;

function killAllNow() {
  for (const pid of children.keys()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  children.clear();
  if (restoreAutogroup !== undefined) {
    const restore = restoreAutogroup;
    restoreAutogroup = undefined;
    restore();
  }
}

function installCleanup() {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      if (children.size > 0) console.error(`\n${signal}: stopping ${children.size} child process(es) by PID`);
      const exits = [...children.values()].map(({ child }) => new Promise((resolve) => child.once('exit', resolve)));
      killAllNow();
      // Reap them (bounded) so none is left as a zombie, then exit.
      const code = 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1);
      Promise.race([Promise.all(exits), sleep(2_000)]).then(() => process.exit(code));
    });
  }
  process.on('uncaughtException', (error) => {
    console.error(error);
    killAllNow();
    process.exit(1);
  });
  process.on('unhandledRejection', (error) => {
    console.error(error);
    killAllNow();
    process.exit(1);
  });
}

function track(child, label) {
  installCleanup();
  children.set(child.pid, { label, child });
  child.once('exit', () => children.delete(child.pid));
}

// ---------------------------------------------------------------------------------------------
// Machine facts

let clkTck;
/** Clock ticks per second for /proc/PID/stat and /proc/stat (`getconf CLK_TCK`). */
/** Runs a read-only git command in the repository; undefined when git is unavailable. */
export function git(args) {
  try {
    return execFileSync('git', ['--no-optional-locks', ...args], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 10_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

/** Every compiled .js file of a workspace package (e.g. `packages/mcp-transport`), in a stable order. */
export function packageFiles(packageDir) {
  const dist = join(repoRoot, packageDir, 'dist');
  return readdirSync(dist, { recursive: true })
    .filter((name) => name.endsWith('.js'))
    .sort()
    .map((name) => join(dist, name));
}

/**
 * Hash of the compiled library (packages/core/dist) and the given files, to notice a rebuild
 * (another `npm run build`) during a run.
 */
export function codeFingerprint(...files) {
  const hash = createHash('sha256');
  const walk = (dir) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.js')) hash.update(path).update(readFileSync(path));
    }
  };
  walk(join(repoRoot, 'packages/core/dist'));
  for (const file of files) hash.update(readFileSync(file));
  return hash.digest('hex').slice(0, 16);
}

export function clockTicks() {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5_000 }).trim());
    } catch {
      clkTck = 100;
    }
    if (!Number.isFinite(clkTck) || clkTck <= 0) clkTck = 100;
  }
  return clkTck;
}

function which(command) {
  for (const dir of (process.env['PATH'] ?? '/usr/bin:/bin').split(':')) {
    if (dir !== '' && existsSync(join(dir, command))) return join(dir, command);
  }
  return undefined;
}

let tasksetPath;
/** Path to taskset, or undefined when it is not installed. */
export function taskset() {
  if (tasksetPath === undefined) tasksetPath = which('taskset') ?? '';
  return tasksetPath === '' ? undefined : tasksetPath;
}

// Online CPUs of the machine. Not availableParallelism(): that follows this process's affinity,
// which is a single core once pinPid() has pinned the harness.
const onlineCpus = Math.max(1, cpus().length);

/** Cores to use: server on the first, load generator on the second (both 0 on a 1-core box). */
export function defaultCores() {
  return { server: 0, client: onlineCpus > 1 ? 1 : 0 };
}

/** Prefixes a command with `taskset -c CORE` when taskset exists; taskset execs, so the PID is the command's. */
function pinned(core, command, args) {
  const ts = taskset();
  // `core: null` asks for an unpinned process.
  if (core === undefined || core === null || ts === undefined) return [command, args];
  return [ts, ['-c', String(core), command, ...args]];
}

/** Pins an existing process (all its threads) to a core; returns false when that is not possible. */
export function pinPid(pid, core) {
  const ts = taskset();
  if (ts === undefined) return false;
  try {
    execFileSync(ts, ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore', timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}

export function machineInfo() {
  let wrkVersion = '';
  try {
    const r = execFileSync('wrk', ['-v'], { encoding: 'utf8', timeout: 5_000, stdio: ['ignore', 'pipe', 'pipe'] });
    wrkVersion = r.split('\n')[0] ?? '';
  } catch (error) {
    // wrk -v exits 1 after printing its usage
    wrkVersion = String(error.stdout ?? '').split('\n')[0] ?? '';
  }
  return {
    node: process.version,
    wrk: wrkVersion.trim(),
    cpus: onlineCpus,
    cpuModel: cpus()[0]?.model ?? '',
    loadavg: loadavg(),
    clockTicks: clockTicks(),
    taskset: taskset() !== undefined,
  };
}

/** Raises this session's autogroup (CONFIG_SCHED_AUTOGROUP) to `nice`; the old value is restored on exit. */
export function raiseAutogroup(nice = -10) {
  const path = '/proc/self/autogroup';
  let before;
  try {
    const m = /nice\s+(-?\d+)/.exec(readFileSync(path, 'utf8'));
    before = m === null ? 0 : Number(m[1]);
    writeFileSync(path, String(nice));
  } catch (error) {
    console.error(`note: could not raise the autogroup priority (${error.code ?? error.message}); continuing`);
    return () => {};
  }
  installCleanup();
  const restore = () => {
    try {
      writeFileSync(path, String(before));
    } catch {
      // nothing more to do
    }
  };
  restoreAutogroup = restore;
  return () => {
    if (restoreAutogroup === restore) restoreAutogroup = undefined;
    restore();
  };
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createNetServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// /proc readers

/** utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat). */
export function readProcessCpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * utime + stime of each thread of a process, in clock ticks, by kernel thread id (the main
 * thread's id is the process id). Threads that exit between the listing and the read are left out.
 */
export function readThreadCpuTicks(pid) {
  const out = new Map();
  let tids;
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      out.set(Number(tid), readProcessCpuTicks(`${pid}/task/${tid}`));
    } catch {
      // the thread exited
    }
  }
  return out;
}

/** cutime + cstime of this process: CPU of children already waited for (wrk, once it exits). */
function readChildrenCpuTicks() {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[13]) + Number(fields[14]);
}

/** VmRSS and VmHWM (peak RSS) of a process, in kB. */
export function readProcessMemory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name) => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    return m === null ? undefined : Number(m[1]);
  };
  return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
}

/** Busy and total ticks of the whole box and of each core, from /proc/stat. */
export function readSystemCpu() {
  const out = {};
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    if (!line.startsWith('cpu')) continue;
    const [name, ...rest] = line.trim().split(/\s+/);
    const v = rest.map(Number);
    // user nice system idle iowait irq softirq steal guest guest_nice; guest is already in user.
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const busy = (v[0] ?? 0) + (v[1] ?? 0) + (v[2] ?? 0) + (v[5] ?? 0) + (v[6] ?? 0) + (v[7] ?? 0);
    out[name] = { busy, total: busy + idle, steal: v[7] ?? 0 };
  }
  return out;
}

function diffSystemCpu(a, b) {
  const out = {};
  for (const name of Object.keys(b)) {
    if (a[name] === undefined) continue;
    out[name] = {
      busy: b[name].busy - a[name].busy,
      total: b[name].total - a[name].total,
      steal: b[name].steal - a[name].steal,
    };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Servers

/**
 * Starts a server command pinned to `core` and waits for its `listening on URL` line.
 * The URL must be http://127.0.0.1:PORT. Resolves to a handle for stopServer/readProcess*.
 * `env.PORT` is set to `port` (a free port when omitted).
 */
export async function startServer({
  name,
  command,
  args = [],
  env = {},
  cwd = repoRoot,
  core = defaultCores().server,
  port,
  readyTimeoutMs = 15_000,
}) {
  port ??= await freePort();
  const [cmd, argv] = pinned(core, command, args);
  const child = spawn(cmd, argv, {
    cwd,
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) {
    await new Promise((resolve) => child.once('error', resolve));
    throw new Error(`${name}: could not start ${command}`);
  }
  track(child, `server ${name}`);
  const server = { name, pid: child.pid, child, port, url: undefined, output: '' };
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  server.exited = exited;
  const keep = (chunk) => {
    server.output = (server.output + chunk.toString()).slice(-4_000);
  };
  child.stderr.on('data', keep);
  let timer;
  try {
    server.url = await new Promise((resolve, reject) => {
      let pending = '';
      const onData = (chunk) => {
        keep(chunk);
        pending += chunk.toString();
        const m = /listening on (http:\/\/\S+)/.exec(pending);
        if (m !== null) {
          child.stdout.off('data', onData);
          // keep draining stdout so a chatty server never blocks on a full pipe
          child.stdout.on('data', keep);
          resolve(m[1]);
        }
      };
      child.stdout.on('data', onData);
      exited.then(({ code, signal }) =>
        reject(new Error(`${name} exited before listening (code ${code}, signal ${signal})\n${server.output}`)),
      );
      timer = setTimeout(
        () => reject(new Error(`${name} printed no "listening on" line within ${readyTimeoutMs} ms\n${server.output}`)),
        readyTimeoutMs,
      );
    });
  } catch (error) {
    clearTimeout(timer);
    await stopServer(server);
    throw error;
  }
  clearTimeout(timer);
  try {
    assertLoopback(server.url);
  } catch (error) {
    await stopServer(server);
    throw error;
  }
  return server;
}

/** Stops a server by PID: SIGTERM, then SIGKILL after `timeoutMs`. Resolves once it has exited. */
export async function stopServer(server, { timeoutMs = 5_000 } = {}) {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return server.exited;
  try {
    process.kill(server.pid, 'SIGTERM');
  } catch {
    return server.exited;
  }
  let timer;
  const killed = new Promise((resolve) => {
    timer = setTimeout(() => {
      console.error(`${server.name} (PID ${server.pid}) ignored SIGTERM for ${timeoutMs} ms: SIGKILL`);
      try {
        process.kill(server.pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
      resolve();
    }, timeoutMs);
  });
  await Promise.race([server.exited, killed]);
  clearTimeout(timer);
  return server.exited;
}

function assertLoopback(url) {
  const u = new URL(url);
  if (u.protocol !== 'http:' || u.hostname !== '127.0.0.1') {
    throw new Error(`refusing to load ${url}: benchmarks target http://127.0.0.1 only`);
  }
}

// ---------------------------------------------------------------------------------------------
// wrk

/**
 * Runs `wrk -tT -cC -dDs --timeout Ts` against a 127.0.0.1 URL, pinned to `core`, with the
 * summary.lua `done` hook. Resolves to the parsed summary plus wrk's own CPU (`clientCpuUs`).
 * Killed if it outlives its duration by `graceS`.
 */
export async function runWrk({
  url,
  durationS = 10,
  connections = 100,
  threads = 1,
  timeoutS = 5,
  core = defaultCores().client,
  script = summaryLua,
  extraArgs = [],
  graceS = 15,
}) {
  assertLoopback(url);
  const args = [
    `-t${threads}`,
    `-c${connections}`,
    `-d${durationS}s`,
    '--timeout',
    `${timeoutS}s`,
    '-s',
    script,
    ...extraArgs,
    url,
  ];
  const [cmd, argv] = pinned(core, 'wrk', args);
  const childrenBefore = readChildrenCpuTicks();
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) {
    const error = await new Promise((resolve) => child.once('error', resolve));
    throw new Error(`could not start wrk: ${error.message}`);
  }
  track(child, 'wrk');
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c.toString()));
  child.stderr.on('data', (c) => (stderr += c.toString()));
  let timer;
  let timedOut = false;
  const { code, signal } = await new Promise((resolve) => {
    timer = setTimeout(
      () => {
        timedOut = true;
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      },
      (durationS + graceS) * 1_000,
    );
    // 'close' (not 'exit') so the last stdout chunk has arrived.
    child.once('close', (c, s) => resolve({ code: c, signal: s }));
  });
  clearTimeout(timer);
  const clientCpuUs = ((readChildrenCpuTicks() - childrenBefore) * 1e6) / clockTicks();
  if (timedOut) throw new Error(`wrk did not finish within ${durationS + graceS} s and was killed`);
  const line = stdout.split('\n').find((l) => l.startsWith('WRK_SUMMARY '));
  if (code !== 0 || line === undefined) {
    throw new Error(`wrk failed (code ${code}, signal ${signal}):\n${stderr}${stdout}`);
  }
  return { ...JSON.parse(line.slice('WRK_SUMMARY '.length)), clientCpuUs };
}

// ---------------------------------------------------------------------------------------------
// One run and alternating rounds

/**
 * One measurement of one configuration: start the server, warm up (unmeasured), then the
 * measured wrk window bracketed by /proc readings, then stop the server.
 * config: { name, command, args?, env?, cwd?, path? ('/' by default) }.
 */
export async function measureOnce(config, { warmupS = 2, durationS = 10, connections = 100, threads = 1, cores } = {}) {
  cores ??= defaultCores();
  const server = await startServer({ ...config, core: cores.server });
  try {
    const url = new URL(config.path ?? '/', server.url).href;
    if (warmupS > 0) await runWrk({ url, durationS: warmupS, connections, threads, core: cores.client });
    const tck = clockTicks();
    const sys0 = readSystemCpu();
    const self0 = process.cpuUsage();
    const cpu0 = readProcessCpuTicks(server.pid);
    const wall0 = process.hrtime.bigint();
    const wrk = await runWrk({ url, durationS, connections, threads, core: cores.client });
    const wall1 = process.hrtime.bigint();
    const cpu1 = readProcessCpuTicks(server.pid);
    const selfUsage = process.cpuUsage(self0);
    const sys = diffSystemCpu(sys0, readSystemCpu());
    const memory = readProcessMemory(server.pid);
    const serverCpuUs = ((cpu1 - cpu0) * 1e6) / tck;
    const harnessCpuUs = selfUsage.user + selfUsage.system;
    const wallUs = Number(wall1 - wall0) / 1e3;
    const boxBusyUs = (sys['cpu'].busy * 1e6) / tck;
    // Everything on the box but the server, wrk and this harness, as a share of one core.
    const otherCpuUs = Math.max(0, boxBusyUs - serverCpuUs - wrk.clientCpuUs - harnessCpuUs);
    const perCore = {};
    for (const [name, v] of Object.entries(sys)) {
      if (name !== 'cpu' && v.total > 0) perCore[name] = round((100 * v.busy) / v.total, 1);
    }
    const errors = Object.values(wrk.errors).reduce((a, b) => a + b, 0);
    return {
      name: config.name,
      requests: wrk.requests,
      durationUs: wrk.duration_us,
      requestsPerS: wrk.requests_per_s,
      errors: wrk.errors,
      errorCount: errors,
      latencyUs: wrk.latency_us,
      serverCpuUs,
      serverCpuUsPerRequest: wrk.requests > 0 ? serverCpuUs / wrk.requests : undefined,
      serverCpuPctOfCore: (100 * serverCpuUs) / wallUs,
      clientCpuUs: wrk.clientCpuUs,
      clientCpuUsPerRequest: wrk.requests > 0 ? wrk.clientCpuUs / wrk.requests : undefined,
      harnessCpuUs,
      boxBusyUs,
      otherCpuPctOfCore: (100 * otherCpuUs) / wallUs,
      stealPctOfCore: (100 * ((sys['cpu'].steal * 1e6) / tck)) / wallUs,
      coreBusyPct: perCore,
      memory,
      wallUs,
    };
  } finally {
    await stopServer(server);
  }
}

/** { median, min, max } of the finite numbers in `values` (undefined when none). */
export function stats(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = v.length >> 1;
  const median = v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { median, min: v[0], max: v[v.length - 1], n: v.length };
}

export function round(x, digits = 0) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * Waits (bounded by `maxWaitS`) until the rest of the box is quiet: everything but this process
 * uses under `maxBusyPct` % of one core over a `sampleMs` window. Call it with no child running.
 * Resolves to { busyPct, waitedS, quiet }.
 */
export async function waitForQuiet({ maxBusyPct = 10, sampleMs = 1_000, maxWaitS = 120, onWait } = {}) {
  const t0 = Date.now();
  const tck = clockTicks();
  for (;;) {
    const sys0 = readSystemCpu();
    const self0 = process.cpuUsage();
    const w0 = process.hrtime.bigint();
    await sleep(sampleMs);
    const self = process.cpuUsage(self0);
    const wallUs = Number(process.hrtime.bigint() - w0) / 1e3;
    const busyUs = (diffSystemCpu(sys0, readSystemCpu())['cpu'].busy * 1e6) / tck - self.user - self.system;
    const busyPct = Math.max(0, (100 * busyUs) / wallUs);
    const waitedS = (Date.now() - t0) / 1e3;
    if (busyPct < maxBusyPct) return { busyPct, waitedS, quiet: true };
    if (waitedS >= maxWaitS) return { busyPct, waitedS, quiet: false };
    onWait?.(busyPct, waitedS);
  }
}

/**
 * Runs every configuration `rounds` times, alternating A B C, A B C, …, and summarises each
 * metric as median and min–max. Before each run it waits (bounded) for a quiet box; a run during
 * which other processes used more than `maxOtherCpuPct` % of a core is repeated (at most `retries`
 * times); when every attempt was noisy, the least disturbed one is kept, flagged `noisy`. Discarded
 * runs are returned too. `onRun(run, round)` is called after every measurement, kept or not
 * (`run.discarded` there only says whether another attempt follows).
 */
export async function runRounds(
  configs,
  {
    rounds = 3,
    warmupS = 2,
    durationS = 10,
    connections = 100,
    threads = 1,
    cores,
    onRun,
    onWait,
    pauseMs = 500,
    maxOtherCpuPct = 10,
    retries = 2,
    quietWaitS = 120,
  } = {},
) {
  installCleanup();
  cores ??= defaultCores();
  const runs = new Map(configs.map((c) => [c.name, []]));
  const discarded = [];
  const started = new Date().toISOString();
  for (let r = 0; r < rounds; r++) {
    for (const config of configs) {
      const attempts = [];
      for (let attempt = 0; attempt <= retries; attempt++) {
        const before = await waitForQuiet({ maxBusyPct: maxOtherCpuPct, maxWaitS: quietWaitS, onWait });
        const run = await measureOnce(config, { warmupS, durationS, connections, threads, cores });
        run.round = r + 1;
        run.attempt = attempt + 1;
        run.busyBeforePct = before.busyPct;
        run.noisy = run.otherCpuPctOfCore > maxOtherCpuPct;
        run.discarded = run.noisy && attempt < retries;
        attempts.push(run);
        onRun?.(run, r + 1);
        await sleep(pauseMs);
        if (!run.noisy) break;
      }
      // Keep the quiet attempt, or when every attempt was noisy, the least disturbed one.
      const kept = attempts.reduce((best, run) => (run.otherCpuPctOfCore < best.otherCpuPctOfCore ? run : best));
      for (const run of attempts) {
        run.discarded = run !== kept;
        if (run.discarded) discarded.push(run);
      }
      runs.get(config.name).push(kept);
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
        p90Us: pick((x) => x.latencyUs.p90),
        p99Us: pick((x) => x.latencyUs.p99),
        serverCpuUsPerRequest: pick((x) => x.serverCpuUsPerRequest),
        serverCpuPctOfCore: pick((x) => x.serverCpuPctOfCore),
        clientCpuUsPerRequest: pick((x) => x.clientCpuUsPerRequest),
        otherCpuPctOfCore: pick((x) => x.otherCpuPctOfCore),
        rssKb: pick((x) => x.memory.rssKb),
        hwmKb: pick((x) => x.memory.hwmKb),
        errors: list.reduce((a, x) => a + x.errorCount, 0),
        noisyRuns: list.filter((x) => x.noisy).length,
      },
      runs: list,
    };
  });
  return {
    started,
    finished: new Date().toISOString(),
    settings: { rounds, warmupS, durationS, connections, threads, cores, maxOtherCpuPct, retries },
    machine: machineInfo(),
    results,
    discarded,
  };
}

/**
 * Per-round ratio of `metric` between each configuration and `baseline` (same round, so the
 * same machine conditions): { median, min, max } per configuration name.
 */
export function pairedRatios(report, baseline, metric = (run) => run.requestsPerS) {
  const base = report.results.find((r) => r.name === baseline);
  if (base === undefined) return {};
  const out = {};
  for (const result of report.results) {
    const ratios = result.runs.map((run, i) => metric(run) / metric(base.runs[i]));
    out[result.name] = stats(ratios);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Command line helpers

/** Parses `--name value` / `--name=value` / `--flag` into an object; numbers stay strings. */
/**
 * parseArgs for a benchmark's command line: a bad option prints it with `usage` and exits 2;
 * `--help` (declare it as a flag) prints `usage` and exits 0.
 */
export function parseArgsOrExit(argv, known, usage) {
  let opts;
  try {
    opts = parseArgs(argv, known);
  } catch (error) {
    console.error(`${error.message}\n${usage}`);
    process.exit(2);
  }
  if (opts.help) {
    console.log(usage);
    process.exit(0);
  }
  return opts;
}

export function parseArgs(argv, known) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    let [name, value] = arg.slice(2).split(/=(.*)/s, 2);
    if (!(name in known)) throw new Error(`unknown option --${name}`);
    if (known[name] === 'flag') {
      out[name] = true;
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new Error(`--${name} needs a value`);
    }
    if (known[name] === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
      out[name] = n;
    } else out[name] = value;
  }
  return out;
}

/**
 * Writes `data` with the machine and the git commit to bench/results/NAME-<UTC time>.json
 * (the folder is gitignored); returns the path.
 */
export function writeResults(name, data) {
  mkdirSync(join(benchDir, 'results'), { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const path = join(benchDir, 'results', `${name}-${stamp}.json`);
  writeFileSync(path, JSON.stringify({ ...data, machine: machineInfo(), commit: git(['rev-parse', 'HEAD']) }, null, 2));
  return path;
}

/** Renders rows (arrays of strings) as a Markdown-style table with aligned columns. */
export function formatTable(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}
