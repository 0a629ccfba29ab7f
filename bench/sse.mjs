// SSE fan-out benchmark: MummyX (inline, server.publish) vs a minimal raw node:http broadcaster,
// with 1,000 and 10,000 connected clients held by separate client processes.
//
// Per run: start the server (pinned to core 0), connect the clients (2 processes on core 1, raw
// node:net sockets and a tiny parser: bench/lib/sse-clients.mjs), then
//   1. latency: publish one event with 100 bytes of data, time until every client has it
//      (from just before the POST /publish to the last arrival); 3 warm-up + --probes measured;
//   2. flood: the server publishes --flood-deliveries / clients events back to back (one per
//      event-loop turn); delivered events/s = clients × events / time until every client has
//      the last one, plus the server's CPU per delivered event (from /proc).
// Rounds alternate the servers. Prints a table and writes JSON to bench/results/.
//
// Usage: node bench/sse.mjs [--clients 1000,10000] [--rounds N] [--probes N] [--size BYTES]
//                           [--flood-deliveries N] [--processes N] [--only mummyx,node:http]
// Needs `npm run build` first (the MummyX server imports packages/core/dist).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  git,
  benchDir,
  clockTicks,
  defaultCores,
  formatTable,
  machineInfo,
  parseArgsOrExit,
  pinPid,
  readProcessCpuTicks,
  readProcessMemory,
  readSystemCpu,
  repoRoot,
  round,
  startServer,
  stats,
  stopServer,
  taskset,
  waitForQuiet,
} from './lib/harness.mjs';

const usage =
  'usage: node bench/sse.mjs [--clients 1000,10000] [--rounds N] [--probes N] [--size BYTES] ' +
  '[--flood-deliveries N] [--processes N] [--max-other PCT] [--retries N] [--only mummyx,node:http]';

const opts = parseArgsOrExit(
  process.argv.slice(2),
  {
    clients: 'string',
    rounds: 'number',
    probes: 'number',
    size: 'number',
    'flood-deliveries': 'number',
    processes: 'number',
    'max-other': 'number',
    retries: 'string',
    only: 'string',
    help: 'flag',
  },
  usage,
);

const settings = {
  clients: (opts.clients ?? '1000,10000').split(',').map((s) => Math.round(Number(s))),
  rounds: Math.round(opts.rounds ?? 3),
  probes: Math.round(opts.probes ?? 10),
  warmupProbes: 3,
  sizeBytes: Math.round(opts.size ?? 100),
  floodDeliveries: Math.round(opts['flood-deliveries'] ?? 1_000_000),
  processes: Math.max(1, Math.round(opts.processes ?? 2)),
  connectConcurrency: 50,
  /** Wait (up to 120 s) before each run until the rest of the box uses less than this % of a core. */
  maxOtherCpuPct: opts['max-other'] ?? 15,
  /** A run during which others used more than maxOtherCpuPct is repeated up to this many times. */
  retries: Math.max(0, Math.round(Number(opts.retries ?? 2)) || 0),
};
if (settings.clients.some((n) => !Number.isSafeInteger(n) || n <= 0)) {
  console.error(`--clients must be positive integers\n${usage}`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// File descriptors: the server holds one per client, each client process its share. Raise the
// soft limit up to the hard one by re-executing under `ulimit -n` when it is too low.

function fdLimits() {
  const read = (flag) => Number(execFileSync('sh', ['-c', `ulimit ${flag}`], { encoding: 'utf8' }).trim());
  return { soft: read('-Sn'), hard: read('-Hn') };
}
const neededFds = Math.max(...settings.clients) + 1_024;
const limits = fdLimits();
if (limits.soft < neededFds) {
  const hard = Number.isFinite(limits.hard) ? limits.hard : neededFds;
  if (process.env['SSE_BENCH_RAISED_ULIMIT'] === undefined && hard >= neededFds) {
    console.error(`raising ulimit -n from ${limits.soft} to ${hard} and re-running`);
    const child = spawn(
      'sh',
      ['-c', `ulimit -n ${hard} && exec "$@"`, 'sh', process.execPath, ...process.argv.slice(1)],
      {
        stdio: 'inherit',
        env: { ...process.env, SSE_BENCH_RAISED_ULIMIT: '1' },
      },
    );
    child.on('exit', (code, signal) => process.exit(code ?? (signal === null ? 1 : 128)));
    for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
    await new Promise(() => {});
  }
  console.error(
    `ulimit -n is ${limits.soft} (hard ${limits.hard}); ${neededFds} needed for ${Math.max(...settings.clients)} clients`,
  );
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------
// Servers

const ours = join(repoRoot, 'packages/core/dist/index.js');
if (!existsSync(ours)) {
  console.error(`${ours} is missing: run \`npm run build\` first.`);
  process.exit(1);
}
const baseline = 'node:http';
let configs = [
  { name: 'mummyx', label: 'mummyx (inline, server.publish)', script: join(benchDir, 'servers/mummyx-sse.mjs') },
  { name: 'node:http', label: 'raw node:http broadcaster', script: join(benchDir, 'servers/node-http-sse.mjs') },
];
if (opts.only !== undefined) {
  const wanted = opts.only.split(',').map((s) => s.trim());
  configs = configs.filter((c) => wanted.includes(c.name));
  if (configs.length === 0) {
    console.error(`--only matched no server\n${usage}`);
    process.exit(2);
  }
}

// ---------------------------------------------------------------------------------------------
// Client processes (tracked by PID, killed on exit)

const clientScript = join(benchDir, 'lib/sse-clients.mjs');
const clientProcesses = new Set();
process.on('exit', () => {
  for (const child of clientProcesses) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** A client process with a tiny request/reply layer over IPC. */
function startClientProcess(core) {
  const ts = taskset();
  const [command, args] =
    ts === undefined ? [process.execPath, [clientScript]] : [ts, ['-c', String(core), process.execPath, clientScript]];
  const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  clientProcesses.add(child);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  exited.then(() => clientProcesses.delete(child));
  const waiters = [];
  child.on('message', (message) => {
    if (message.type === 'error') console.error(`client ${child.pid}: ${message.message}`);
    const i = waiters.findIndex((w) => w.match(message));
    if (i === -1) return;
    const [waiter] = waiters.splice(i, 1);
    clearTimeout(waiter.timer);
    waiter.resolve(message);
  });
  return {
    child,
    exited,
    send: (message) => child.send(message),
    /** Resolves with the next message that `match`es; rejects after `timeoutMs`. */
    next(match, timeoutMs, what) {
      return new Promise((resolve, reject) => {
        const waiter = { match, resolve };
        waiter.timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`client ${child.pid}: no ${what} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    async stop() {
      if (child.connected) child.send({ type: 'exit' });
      await Promise.race([exited, sleep(5_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

const now = () => performance.timeOrigin + performance.now();

/** One request on its own connection (no keep-alive pool left open at shutdown). */
function call(url, method, body) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method, agent: false, timeout: 30_000, headers: { 'Content-Type': 'application/json' } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if (res.statusCode >= 300) reject(new Error(`${method} ${url}: ${res.statusCode} ${text}`));
          else resolve(JSON.parse(text));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: timed out`)));
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

function cpuTicksOf(pids) {
  let ticks = 0;
  for (const pid of pids) {
    try {
      ticks += readProcessCpuTicks(pid);
    } catch {
      // exited
    }
  }
  return ticks;
}

/** Every client process reports when all its open connections have event `id`; returns all arrival times. */
async function deliver(clients, id, publish, timeoutMs) {
  const watched = clients.map((c) => c.next((m) => m.type === 'watched' && m.id === id, 10_000, `watch ack ${id}`));
  const arrived = clients.map((c) =>
    c.next((m) => m.type === 'arrived' && m.id === id, timeoutMs, `every client with event ${id}`),
  );
  for (const c of clients) c.send({ type: 'watch', id });
  await Promise.all(watched);
  const started = now();
  await publish();
  const reports = await Promise.all(arrived);
  const times = reports.flatMap((r) => r.times).map((t) => t - started);
  times.sort((a, b) => a - b);
  return { started, times, lastMs: times.at(-1) ?? Number.NaN };
}

function quantile(sorted, q) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

let nextId = 1;

/** CPU used by everything on the box but the server, the clients and this script, as % of one core. */
function otherCpuPct({ system0, self0, serverTicks, clientTicks, wallMs }) {
  const self = process.cpuUsage(self0);
  const boxBusyUs = ((readSystemCpu()['cpu'].busy - system0['cpu'].busy) * 1e6) / clockTicks();
  const otherUs = boxBusyUs - ((serverTicks + clientTicks) * 1e6) / clockTicks() - self.user - self.system;
  return (Math.max(0, otherUs) / 1e3 / wallMs) * 100;
}

async function measure(config, clientCount, cores) {
  const server = await startServer({
    name: config.name,
    command: process.execPath,
    args: [config.script],
    core: cores.server,
  });
  const clients = [];
  try {
    const eventsUrl = new URL('/events', server.url).href;
    for (let i = 0; i < settings.processes; i++) clients.push(startClientProcess(cores.client));
    const shares = clients.map(
      (_, i) => Math.floor(clientCount / clients.length) + (i < clientCount % clients.length ? 1 : 0),
    );
    const connected = clients.map((c) => c.next((m) => m.type === 'connected', 120_000, 'connected'));
    clients.forEach((c, i) =>
      c.send({ type: 'connect', url: eventsUrl, connections: shares[i], concurrency: settings.connectConcurrency }),
    );
    const connectReports = await Promise.all(connected);
    const open = connectReports.reduce((a, r) => a + r.open, 0);
    if (open !== clientCount) throw new Error(`${config.name}: only ${open} of ${clientCount} clients connected`);
    const connectS = Math.max(...connectReports.map((r) => r.ms)) / 1_000;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { streams } = await call(new URL('/stats', server.url).href, 'GET');
      if (streams === clientCount) break;
      if (Date.now() > deadline)
        throw new Error(`${config.name}: server reports ${streams} streams, expected ${clientCount}`);
      await sleep(50);
    }
    const memory = readProcessMemory(server.pid);

    // 1. One event: time until every client has it.
    const publishUrl = new URL('/publish', server.url).href;
    const probes = [];
    const probeSystem0 = readSystemCpu();
    const probeSelf0 = process.cpuUsage();
    const probeServer0 = readProcessCpuTicks(server.pid);
    const probeClients0 = cpuTicksOf(clients.map((c) => c.child.pid));
    const probeWall0 = now();
    for (let p = 0; p < settings.warmupProbes + settings.probes; p++) {
      const id = nextId++;
      const result = await deliver(
        clients,
        id,
        async () => {
          const { subscribers } = await call(publishUrl, 'POST', { id, size: settings.sizeBytes });
          if (subscribers !== clientCount)
            throw new Error(`published to ${subscribers} subscribers, expected ${clientCount}`);
        },
        30_000,
      );
      if (p >= settings.warmupProbes) {
        probes.push({ lastMs: result.lastMs, p50Ms: quantile(result.times, 0.5), p99Ms: quantile(result.times, 0.99) });
      }
      await sleep(50);
    }

    const probeOtherCpuPct = otherCpuPct({
      system0: probeSystem0,
      self0: probeSelf0,
      serverTicks: readProcessCpuTicks(server.pid) - probeServer0,
      clientTicks: cpuTicksOf(clients.map((c) => c.child.pid)) - probeClients0,
      wallMs: now() - probeWall0,
    });

    // 2. Flood: events back to back; delivered events/s and server CPU per delivered event.
    const count = Math.max(10, Math.round(settings.floodDeliveries / clientCount));
    const from = nextId;
    nextId += count;
    const last = from + count - 1;
    const clientPids = clients.map((c) => c.child.pid);
    const serverCpu0 = readProcessCpuTicks(server.pid);
    const clientCpu0 = cpuTicksOf(clientPids);
    const system0 = readSystemCpu();
    const self0 = process.cpuUsage();
    const flood = await deliver(
      clients,
      last,
      () => call(new URL('/flood', server.url).href, 'POST', { from, count, size: settings.sizeBytes }),
      300_000,
    );
    const serverCpuUs = ((readProcessCpuTicks(server.pid) - serverCpu0) * 1e6) / clockTicks();
    const clientCpuUs = ((cpuTicksOf(clientPids) - clientCpu0) * 1e6) / clockTicks();
    const selfUsage = process.cpuUsage(self0);
    const boxBusyUs = ((readSystemCpu()['cpu'].busy - system0['cpu'].busy) * 1e6) / clockTicks();
    const floodS = flood.lastMs / 1_000;
    // Everything on the box but the server, the clients and this script, as a share of one core.
    const otherCpuUs = Math.max(0, boxBusyUs - serverCpuUs - clientCpuUs - selfUsage.user - selfUsage.system);
    const deliveries = clientCount * count;
    const counts = await Promise.all(
      clients.map((c) => {
        const reply = c.next((m) => m.type === 'counts', 10_000, 'counts');
        c.send({ type: 'counts' });
        return reply;
      }),
    );
    const closed = counts.reduce((a, r) => a + r.closed, 0);
    const gaps = counts.reduce((a, r) => a + r.gaps, 0);
    const run = {
      name: config.name,
      clients: clientCount,
      connectS,
      memory,
      probes,
      oneEvent: {
        otherCpuPctOfCore: probeOtherCpuPct,
        lastMs: stats(probes.map((p) => p.lastMs)),
        p50Ms: stats(probes.map((p) => p.p50Ms)),
        p99Ms: stats(probes.map((p) => p.p99Ms)),
      },
      flood: {
        events: count,
        deliveries,
        seconds: floodS,
        eventsPerS: deliveries / floodS,
        serverCpuUsPerEvent: serverCpuUs / deliveries,
        serverCpuPctOfCore: (serverCpuUs / 1e6 / floodS) * 100,
        clientCpuPctOfCore: (clientCpuUs / 1e6 / floodS) * 100,
        otherCpuPctOfCore: (otherCpuUs / 1e6 / floodS) * 100,
        closedConnections: closed,
        gaps,
      },
    };
    return run;
  } finally {
    await Promise.all(clients.map((c) => c.stop()));
    await stopServer(server);
  }
}

// ---------------------------------------------------------------------------------------------
// Rounds

const cores = defaultCores();
const coreCount = availableParallelism();
if (taskset() === undefined) console.error('note: taskset not found; processes are not pinned to cores');
else pinPid(process.pid, cores.client);
console.error(
  `sse benchmark: ${configs.map((c) => c.name).join(', ')}; clients ${settings.clients.join(', ')}; ${settings.rounds} round(s); ` +
    `${settings.probes} probes of one ${settings.sizeBytes}-byte event; flood of ${settings.floodDeliveries} deliveries; ` +
    `${settings.processes} client processes; server on core ${cores.server}, clients on core ${cores.client} (${coreCount} cores)`,
);

const started = new Date().toISOString();
const runs = [];
const discarded = [];
for (let r = 1; r <= settings.rounds; r++) {
  for (const clientCount of settings.clients) {
    const order = r % 2 === 1 ? configs : [...configs].reverse();
    for (const config of order) {
      for (let attempt = 0; ; attempt++) {
        const quiet = await waitForQuiet({ maxBusyPct: settings.maxOtherCpuPct, maxWaitS: 120 });
        if (!quiet.quiet) {
          console.error(
            `  note: the box is busy (others use ${quiet.busyPct.toFixed(0)}% of a core); measuring anyway`,
          );
        }
        const run = await measure(config, clientCount, cores);
        run.round = r;
        const f = run.flood;
        run.noisy = Math.max(f.otherCpuPctOfCore, run.oneEvent.otherCpuPctOfCore) > settings.maxOtherCpuPct;
        const repeat = run.noisy && attempt < settings.retries;
        console.error(
          `  round ${r} ${config.name.padEnd(9)} ${String(clientCount).padStart(6)} clients: connect ${run.connectS.toFixed(2)} s, ` +
            `1 event → all ${run.oneEvent.lastMs.median.toFixed(2)} ms (p50 ${run.oneEvent.p50Ms.median.toFixed(2)} ms, ` +
            `others ${run.oneEvent.otherCpuPctOfCore.toFixed(0)}%), ` +
            `flood ${Math.round(f.eventsPerS)} events/s, ${f.serverCpuUsPerEvent.toFixed(2)} µs CPU/event, ` +
            `server ${f.serverCpuPctOfCore.toFixed(0)}% / clients ${f.clientCpuPctOfCore.toFixed(0)}% / others ${f.otherCpuPctOfCore.toFixed(0)}% of a core` +
            (f.closedConnections + f.gaps > 0 ? `  [${f.closedConnections} closed, ${f.gaps} gaps]` : '') +
            (repeat ? '  (noisy: discarded, repeating)' : run.noisy ? '  (noisy: kept, retries used up)' : ''),
        );
        if (repeat) {
          discarded.push(run);
          continue;
        }
        runs.push(run);
        break;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Summary

const results = [];
for (const clientCount of settings.clients) {
  for (const config of configs) {
    const list = runs.filter((x) => x.name === config.name && x.clients === clientCount);
    const pick = (f) => stats(list.map(f));
    results.push({
      name: config.name,
      label: config.label,
      clients: clientCount,
      summary: {
        connectS: pick((x) => x.connectS),
        rssMb: pick((x) => x.memory.rssKb / 1024),
        oneEventAllMs: pick((x) => x.oneEvent.lastMs.median),
        oneEventP50Ms: pick((x) => x.oneEvent.p50Ms.median),
        floodEventsPerS: pick((x) => x.flood.eventsPerS),
        serverCpuUsPerEvent: pick((x) => x.flood.serverCpuUsPerEvent),
        serverCpuPctOfCore: pick((x) => x.flood.serverCpuPctOfCore),
        clientCpuPctOfCore: pick((x) => x.flood.clientCpuPctOfCore),
        otherCpuPctOfCore: pick((x) => x.flood.otherCpuPctOfCore),
        closedConnections: list.reduce((a, x) => a + x.flood.closedConnections, 0),
        gaps: list.reduce((a, x) => a + x.flood.gaps, 0),
        noisyRuns: list.filter((x) => x.noisy).length,
      },
      runs: list,
    });
  }
}

/** Per-round ratio ours/baseline of `metric`, same round and client count. */
function pairedRatio(name, clientCount, metric) {
  const mine = runs.filter((x) => x.name === name && x.clients === clientCount);
  const base = runs.filter((x) => x.name === baseline && x.clients === clientCount);
  return stats(mine.map((x) => metric(x) / metric(base.find((b) => b.round === x.round))).filter(Number.isFinite));
}

const range = (s, digits = 0) =>
  s === undefined
    ? '–'
    : `${round(s.median, digits).toFixed(digits)} (${round(s.min, digits).toFixed(digits)}–${round(s.max, digits).toFixed(digits)})`;
const ratio = (s) => (s === undefined ? '–' : `${s.median.toFixed(2)}× (${s.min.toFixed(2)}–${s.max.toFixed(2)})`);
const header = [
  'server',
  'clients',
  'connect s',
  'RSS MB',
  '1 event → all clients, ms',
  'p50 client ms',
  'flood events/s',
  'server CPU µs/event',
  'CPU % server / clients / others',
  'events/s vs node:http',
  '1-event time vs node:http',
];
const rows = results.map((r) => {
  const s = r.summary;
  const flags = [
    s.closedConnections > 0 ? `${s.closedConnections} closed` : '',
    s.gaps > 0 ? `${s.gaps} gaps` : '',
    s.noisyRuns > 0 ? `${s.noisyRuns} noisy` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return [
    r.label + (flags === '' ? '' : ` [${flags}]`),
    String(r.clients),
    s.connectS.median.toFixed(2),
    s.rssMb.median.toFixed(0),
    range(s.oneEventAllMs, 2),
    s.oneEventP50Ms.median.toFixed(2),
    range(s.floodEventsPerS),
    range(s.serverCpuUsPerEvent, 2),
    `${s.serverCpuPctOfCore.median.toFixed(0)} / ${s.clientCpuPctOfCore.median.toFixed(0)} / ${s.otherCpuPctOfCore.median.toFixed(0)}`,
    r.name === baseline ? '1.00×' : ratio(pairedRatio(r.name, r.clients, (x) => x.flood.eventsPerS)),
    r.name === baseline ? '1.00×' : ratio(pairedRatio(r.name, r.clients, (x) => x.oneEvent.lastMs.median)),
  ];
});

const lines = [
  '',
  `sse: one ${settings.sizeBytes}-byte event to every client (median of ${settings.probes} probes per run), and a flood of ` +
    `${settings.floodDeliveries} deliveries; ${settings.rounds} round(s), ${settings.processes} client processes; node ${process.version}`,
  formatTable(header, rows),
  'median (min–max) over rounds; ratios are per round (same round, same client count). ' +
    '"1 event → all clients": from just before POST /publish to the last client\'s arrival (lower is better).',
];

mkdirSync(join(benchDir, 'results'), { recursive: true });
const stamp = started.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
const file = join(benchDir, 'results', `sse-${stamp}.json`);
const commit = git(['rev-parse', 'HEAD']);
writeFileSync(
  file,
  `${JSON.stringify(
    {
      benchmark: 'sse',
      git: { commit },
      started,
      finished: new Date().toISOString(),
      settings,
      env: { HEARTBEAT_MS: process.env['HEARTBEAT_MS'] },
      cores,
      machine: machineInfo(),
      baseline,
      results,
      discarded,
    },
    null,
    2,
  )}\n`,
);
lines.push(`results: ${file}`);
console.log(lines.join('\n'));
