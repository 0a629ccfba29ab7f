// WebSocket benchmark: MummyX inline, MummyX threaded (threads: 2) and a raw `ws` server, side by
// side in one run.
//
// Echo: examples/dist/websocket-echo.js (THREADS=0 and THREADS=2) vs bench/servers/ws-echo.mjs.
// 50 clients (bench/servers/ws-load-client.mjs, its own process), 32-byte text messages, each
// client sends the next message when the echo arrives; messages/s over 10 s after a 2 s warm-up,
// 3 rounds alternating the servers, median and min–max, server CPU per message from /proc.
// Targets: inline ≥ 0.9× ws messages/s, threaded ≥ 0.5×.
//
// Broadcast: 10,000 connections subscribed, then one publish of a 32-byte message, timed from
// just before the trigger request until the last client has it (median of 10 publishes per
// run, 3 rounds): bench/servers/mummyx-ws-broadcast.mjs (publish() inline, and from a worker
// with THREADS=2) vs bench/servers/ws-broadcast.mjs (a plain loop over wss.clients).
//
// Servers are pinned to core 0 (with their worker threads), clients and this script to core 1,
// with taskset when it is installed. A run during which other processes used more than
// --max-other % (default 15) of a core, or (echo) neither the server nor the client kept its core
// 85 % busy, is repeated up to --retries (default 2) times; the last attempt is kept and flagged.
// Prints the tables to stdout, progress to stderr, and writes every run to
// bench/results/websocket-<UTC time>.json.
//
// Usage: node bench/websocket.mjs [--rounds N] [--duration S] [--warmup S] [--clients C]
//          [--window W] [--size B] [--connections N] [--publishes N] [--only echo,broadcast]
//          [--max-other PCT] [--retries N] [--no-autogroup]
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  codeFingerprint,
  git,
  benchDir,
  clockTicks,
  defaultCores,
  formatTable,
  machineInfo,
  parseArgsOrExit,
  pinPid,
  raiseAutogroup,
  readProcessCpuTicks,
  readProcessMemory,
  repoRoot,
  round,
  startServer,
  stats,
  stopServer,
  taskset,
  waitForQuiet,
} from './lib/harness.mjs';

const usage =
  'usage: node bench/websocket.mjs [--rounds N] [--duration S] [--warmup S] [--clients C] [--window W] ' +
  '[--size B] [--connections N] [--publishes N] [--only echo,broadcast] [--max-other PCT] [--retries N] ' +
  '[--no-autogroup]';

const opts = parseArgsOrExit(
  process.argv.slice(2),
  {
    rounds: 'number',
    duration: 'number',
    warmup: 'number',
    clients: 'number',
    window: 'number',
    size: 'number',
    connections: 'number',
    publishes: 'number',
    only: 'string',
    'max-other': 'number',
    retries: 'string',
    'no-autogroup': 'flag',
    help: 'flag',
  },
  usage,
);

const settings = {
  rounds: Math.round(opts.rounds ?? 3),
  durationS: opts.duration ?? 10,
  warmupS: opts.warmup ?? 2,
  clients: Math.round(opts.clients ?? 50),
  window: Math.round(opts.window ?? 1),
  sizeBytes: Math.round(opts.size ?? 32),
  connections: Math.round(opts.connections ?? 10_000),
  publishes: Math.round(opts.publishes ?? 10),
  maxOtherCpuPct: opts['max-other'] ?? 15,
  retries: Math.max(0, Math.round(Number(opts.retries ?? 2)) || 0),
};
const parts = (opts.only ?? 'echo,broadcast').split(',').map((s) => s.trim());
for (const part of parts) {
  if (part !== 'echo' && part !== 'broadcast') {
    console.error(`unknown part ${part}\n${usage}`);
    process.exit(2);
  }
}

const echoExample = join(repoRoot, 'examples/dist/websocket-echo.js');
if (!existsSync(echoExample)) {
  console.error(`${echoExample} is missing: run \`npm run build\` first.`);
  process.exit(1);
}
const loadClient = join(benchDir, 'servers/ws-load-client.mjs');

const fingerprintBefore = codeFingerprint(echoExample);
const node = process.execPath;

/** Runs `command args` under bash with the open-files limit raised to the hard limit (10,000 sockets need it). */
function withFdLimit(command, args) {
  return {
    command: 'bash',
    args: ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', 'bash', command, ...args],
  };
}

const echoServers = [
  {
    name: 'inline',
    label: 'ours inline (websocket-echo.js THREADS=0)',
    ...withFdLimit(node, [echoExample]),
    env: { THREADS: '0' },
  },
  {
    name: 'threaded',
    label: 'ours threaded (websocket-echo.js THREADS=2)',
    ...withFdLimit(node, [echoExample]),
    env: { THREADS: '2' },
  },
  { name: 'ws', label: 'raw ws (servers/ws-echo.mjs)', ...withFdLimit(node, [join(benchDir, 'servers/ws-echo.mjs')]) },
];
const broadcastServers = [
  {
    name: 'inline',
    label: 'ours inline: publish() on the IO thread',
    ...withFdLimit(node, [join(benchDir, 'servers/mummyx-ws-broadcast.mjs')]),
    env: { THREADS: '0' },
  },
  {
    name: 'threaded',
    label: 'ours threaded: publish() from a worker',
    ...withFdLimit(node, [join(benchDir, 'servers/mummyx-ws-broadcast.mjs')]),
    env: { THREADS: '2' },
  },
  {
    name: 'ws',
    label: 'raw ws: loop over wss.clients',
    ...withFdLimit(node, [join(benchDir, 'servers/ws-broadcast.mjs')]),
  },
];

// ---------------------------------------------------------------------------------------------
// Load clients: one process per run, pinned, killed by PID on exit

const clients = new Set();
process.on('exit', () => {
  for (const child of clients) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/**
 * Starts the load client pinned to `core` and calls `onLine(line)` for each stdout line.
 * Resolves with the parsed WS_SUMMARY; rejects when it fails or outlives `timeoutMs`.
 */
function runClient(args, core, timeoutMs, onLine) {
  const ts = taskset();
  const [command, argv] =
    ts === undefined ? [node, [loadClient, ...args]] : [ts, ['-c', String(core), node, loadClient, ...args]];
  const { command: cmd, args: fullArgs } = withFdLimit(command, argv);
  const child = spawn(cmd, fullArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  clients.add(child);
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
  let summary;
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.startsWith('WS_SUMMARY ')) summary = JSON.parse(line.slice('WS_SUMMARY '.length));
    else onLine(line);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }, timeoutMs);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      clients.delete(child);
      if (code === 0 && summary !== undefined) resolve(summary);
      else reject(new Error(`load client failed (code ${code}, signal ${signal}):\n${stderr}`));
    });
  });
}

/**
 * The box's CPU ticks from /proc/stat, with interrupt and softirq time apart: on loopback the
 * kernel delivers every TCP segment in softirq context, charged to no process, so it would
 * otherwise count as "other" load (a 10,000-connection broadcast is mostly that).
 */
function readBoxCpu() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return { busy: v[0] + v[1] + v[2] + v[7], irq: v[5] + v[6] };
}

/** CPU bookkeeping around a window: the server's ticks, this process, the whole box. */
function cpuMark(pid) {
  return {
    server: readProcessCpuTicks(pid),
    self: process.cpuUsage(),
    box: readBoxCpu(),
    wall: process.hrtime.bigint(),
  };
}

// ---------------------------------------------------------------------------------------------
// One run of each kind

async function measureEcho(config, cores) {
  const server = await startServer({ ...config, core: cores.server });
  try {
    const wsUrl = `${server.url.replace(/^http/, 'ws')}/ws`;
    let mark;
    let window;
    let memory;
    const summary = await runClient(
      [
        'echo',
        '--url',
        wsUrl,
        '--clients',
        String(settings.clients),
        '--window',
        String(settings.window),
        '--size',
        String(settings.sizeBytes),
        '--warmup',
        String(settings.warmupS),
        '--duration',
        String(settings.durationS),
      ],
      cores.client,
      (settings.warmupS + settings.durationS + 60) * 1_000,
      (line) => {
        if (line === 'MEASURE_START') mark = cpuMark(server.pid);
        else if (line === 'MEASURE_END' && mark !== undefined) {
          // The client's own CPU comes with its summary; keep the raw readings until then.
          window = { end: cpuMark(server.pid), mark };
          memory = readProcessMemory(server.pid);
        }
      },
    );
    if (window === undefined) throw new Error('the load client never reported its measured window');
    const cpu = cpuBetween(window.mark, window.end, summary.clientCpuUs);
    return {
      name: config.name,
      messages: summary.messages,
      messagesPerS: summary.messagesPerS,
      wrongSize: summary.wrongSize,
      rttUs: summary.rttUs,
      ...cpu,
      serverCpuUsPerMessage: summary.messages > 0 ? cpu.serverCpuUs / summary.messages : undefined,
      memory,
    };
  } finally {
    await stopServer(server);
  }
}

/** CPU between two marks: the server, the client (as it reported), this script, everything else. */
function cpuBetween(a, b, clientCpuUs) {
  const tck = clockTicks();
  const serverCpuUs = ((b.server - a.server) * 1e6) / tck;
  const selfUs = b.self.user - a.self.user + (b.self.system - a.self.system);
  const boxBusyUs = ((b.box.busy - a.box.busy) * 1e6) / tck;
  const irqUs = ((b.box.irq - a.box.irq) * 1e6) / tck;
  const wallUs = Number(b.wall - a.wall) / 1e3;
  const otherCpuUs = Math.max(0, boxBusyUs - serverCpuUs - clientCpuUs - selfUs);
  return {
    serverCpuUs,
    wallUs,
    serverCpuPctOfCore: (100 * serverCpuUs) / wallUs,
    clientCpuPctOfCore: (100 * clientCpuUs) / wallUs,
    irqCpuPctOfCore: (100 * irqUs) / wallUs,
    otherCpuPctOfCore: (100 * otherCpuUs) / wallUs,
  };
}

async function measureBroadcast(config, cores) {
  const server = await startServer({ ...config, core: cores.server });
  try {
    const wsUrl = `${server.url.replace(/^http/, 'ws')}/ws`;
    let mark;
    let end;
    let memory;
    const summary = await runClient(
      [
        'broadcast',
        '--url',
        wsUrl,
        '--connections',
        String(settings.connections),
        '--publishes',
        String(settings.publishes),
      ],
      cores.client,
      180_000,
      (line) => {
        if (line === 'READY') mark = cpuMark(server.pid);
        else if (line === 'PUBLISHED') {
          end = cpuMark(server.pid);
          memory = readProcessMemory(server.pid);
        }
      },
    );
    if (mark === undefined || end === undefined) throw new Error('the load client never reported READY and PUBLISHED');
    const cpu = cpuBetween(mark, end, summary.clientCpuUs);
    const pick = (f) => stats(summary.runs.map(f));
    return {
      name: config.name,
      connectS: summary.connectS,
      publishes: summary.runs,
      lastMs: pick((r) => r.lastMs),
      firstMs: pick((r) => r.firstMs),
      medianMs: pick((r) => r.medianMs),
      httpMs: pick((r) => r.httpMs),
      // Over the publishes and the gaps between them: publishing, the trigger requests, idle timers.
      serverCpuMsPerPublish: cpu.serverCpuUs / 1e3 / (settings.publishes + 1),
      otherCpuPctOfCore: cpu.otherCpuPctOfCore,
      irqCpuPctOfCore: cpu.irqCpuPctOfCore,
      memory,
    };
  } finally {
    await stopServer(server);
  }
}

// ---------------------------------------------------------------------------------------------
// Rounds

async function runRoundsOf(kind, configs, measure, describe, cores) {
  const runs = new Map(configs.map((c) => [c.name, []]));
  const discarded = [];
  for (let r = 0; r < settings.rounds; r++) {
    for (const config of configs) {
      for (let attempt = 0; ; attempt++) {
        const quiet = await waitForQuiet({ maxBusyPct: settings.maxOtherCpuPct, maxWaitS: 60 });
        const run = await measure(config, cores);
        run.round = r + 1;
        run.attempt = attempt + 1;
        run.busyBeforePct = quiet.busyPct;
        // Noisy: other processes took CPU, or neither the server nor the client kept its core busy
        // (in a closed loop one of them sets the pace; when both idle, something else, such as CPU
        // steal or a neighbour on the same core, was in the way).
        run.noisy =
          run.otherCpuPctOfCore > settings.maxOtherCpuPct ||
          (run.clientCpuPctOfCore !== undefined && run.serverCpuPctOfCore < 85 && run.clientCpuPctOfCore < 85);
        const keep = !run.noisy || attempt >= settings.retries;
        console.error(
          `  ${kind} round ${r + 1} ${config.name.padEnd(8)} ${describe(run)}${keep ? '' : '  (noisy: repeating)'}`,
        );
        await sleep(500);
        if (keep) {
          runs.get(config.name).push(run);
          break;
        }
        discarded.push(run);
      }
    }
  }
  return { runs, discarded };
}

/** Per-round ratio of `metric` between each configuration and `baseline`: { median, min, max }. */
function pairedRatios(runs, baseline, metric) {
  const base = runs.get(baseline);
  const out = {};
  for (const [name, list] of runs) out[name] = stats(list.map((run, i) => metric(run) / metric(base[i])));
  return out;
}

const range = (s, digits = 0) =>
  s === undefined
    ? '–'
    : `${round(s.median, digits).toFixed(digits)} (${round(s.min, digits).toFixed(digits)}–${round(s.max, digits).toFixed(digits)})`;
const ratio = (s) => (s === undefined ? '–' : `${s.median.toFixed(2)}× (${s.min.toFixed(2)}–${s.max.toFixed(2)})`);

// ---------------------------------------------------------------------------------------------

const cores = defaultCores();
if (taskset() === undefined) console.error('note: taskset not found; processes are not pinned to cores');
else pinPid(process.pid, cores.client);
const restoreAutogroup = opts['no-autogroup'] ? () => {} : raiseAutogroup(-10);
const started = new Date().toISOString();
const out = { started, settings, cores, machine: machineInfo() };
const lines = [];

try {
  if (parts.includes('echo')) {
    console.error(
      `echo: ${settings.clients} clients, ${settings.sizeBytes}-byte text, window ${settings.window}, ` +
        `${settings.rounds} round(s) × (${settings.warmupS} s warm-up + ${settings.durationS} s); ` +
        `server on core ${cores.server}, clients on core ${cores.client}`,
    );
    const { runs, discarded } = await runRoundsOf(
      'echo',
      echoServers,
      measureEcho,
      (run) =>
        `${Math.round(run.messagesPerS).toString().padStart(7)} msg/s  p50 ${Math.round(run.rttUs.p50)} µs  ` +
        `p99 ${Math.round(run.rttUs.p99)} µs  ${run.serverCpuUsPerMessage?.toFixed(2)} µs CPU/msg  ` +
        `server ${run.serverCpuPctOfCore.toFixed(0)}%  client ${run.clientCpuPctOfCore.toFixed(0)}%  ` +
        `other ${run.otherCpuPctOfCore.toFixed(1)}%`,
      cores,
    );
    const mps = pairedRatios(runs, 'ws', (run) => run.messagesPerS);
    const cpu = pairedRatios(runs, 'ws', (run) => run.serverCpuUsPerMessage);
    const rows = echoServers.map((config) => {
      const list = runs.get(config.name);
      const noisy = list.filter((x) => x.noisy).length;
      const wrong = list.reduce((a, x) => a + x.wrongSize, 0);
      const flags = [noisy > 0 ? `${noisy} noisy` : '', wrong > 0 ? `${wrong} bad echoes` : ''].filter(Boolean);
      return [
        config.label + (flags.length > 0 ? ` [${flags.join(', ')}]` : ''),
        range(stats(list.map((x) => x.messagesPerS))),
        String(Math.round(stats(list.map((x) => x.rttUs.p50)).median)),
        String(Math.round(stats(list.map((x) => x.rttUs.p99)).median)),
        range(stats(list.map((x) => x.serverCpuUsPerMessage)), 2),
        `${Math.round(stats(list.map((x) => x.clientCpuPctOfCore)).median)}%`,
        (stats(list.map((x) => x.memory.rssKb)).median / 1024).toFixed(0),
        ratio(mps[config.name]),
        ratio(cpu[config.name]),
      ];
    });
    const inline = mps['inline'];
    const threaded = mps['threaded'];
    const verdict = (s, target) =>
      `${s.median.toFixed(2)}× (target ≥ ${target.toFixed(2)}×: ${s.median >= target ? 'met' : 'MISSED'})`;
    lines.push(
      '',
      `WebSocket echo: ${settings.clients} clients, ${settings.sizeBytes}-byte text, ${settings.window} in flight per client, ` +
        `${settings.rounds} round(s) of ${settings.durationS} s after ${settings.warmupS} s warm-up; node ${out.machine.node}`,
      formatTable(
        [
          'server',
          'msg/s median (min–max)',
          'RTT p50 µs',
          'RTT p99 µs',
          'CPU µs/msg (min–max)',
          'client CPU',
          'RSS MB',
          'msg/s vs ws',
          'CPU/msg vs ws',
        ],
        rows,
      ),
      `targets: inline ${verdict(inline, 0.9)}; threaded ${verdict(threaded, 0.5)}`,
      `ratios: median of the per-round ratios (min–max); "client CPU" near 100% means the load client, not the server, set the pace.`,
      `other CPU on the box in kept windows: up to ${Math.max(...[...runs.values()].flat().map((x) => x.otherCpuPctOfCore)).toFixed(1)}% of a core ` +
        `(${discarded.length} noisy run(s) repeated)`,
    );
    out.echo = { runs: Object.fromEntries(runs), discarded, ratios: { messagesPerS: mps, serverCpuUsPerMessage: cpu } };
  }

  if (parts.includes('broadcast')) {
    console.error(
      `broadcast: ${settings.connections} connections, ${settings.publishes} publishes per run, ${settings.rounds} round(s)`,
    );
    const { runs, discarded } = await runRoundsOf(
      'broadcast',
      broadcastServers,
      measureBroadcast,
      (run) =>
        `last ${run.lastMs.median.toFixed(1)} ms  first ${run.firstMs.median.toFixed(2)} ms  ` +
        `median ${run.medianMs.median.toFixed(1)} ms  CPU ${run.serverCpuMsPerPublish.toFixed(1)} ms/publish  ` +
        `connect ${run.connectS.toFixed(1)} s  softirq ${run.irqCpuPctOfCore.toFixed(0)}%  other ${run.otherCpuPctOfCore.toFixed(1)}%`,
      cores,
    );
    const last = pairedRatios(runs, 'ws', (run) => run.lastMs.median);
    const rows = broadcastServers.map((config) => {
      const list = runs.get(config.name);
      const noisy = list.filter((x) => x.noisy).length;
      return [
        config.label + (noisy > 0 ? ` [${noisy} noisy]` : ''),
        range(stats(list.map((x) => x.lastMs.median)), 1),
        range(stats(list.map((x) => x.firstMs.median)), 2),
        range(stats(list.map((x) => x.medianMs.median)), 1),
        range(stats(list.map((x) => x.serverCpuMsPerPublish)), 1),
        (stats(list.map((x) => x.memory.rssKb)).median / 1024).toFixed(0),
        ratio(last[config.name]),
      ];
    });
    lines.push(
      '',
      `WebSocket broadcast: one 32-byte publish to ${settings.connections} subscribed connections, timed from the trigger ` +
        `request until the first / median / last client has it (client side, one process); median of ${settings.publishes} ` +
        `publishes per run, ${settings.rounds} round(s) (median over rounds, min–max)`,
      formatTable(
        [
          'server',
          'last client ms',
          'first client ms',
          'median client ms',
          'server CPU ms/publish',
          'RSS MB',
          'last-client time vs ws',
        ],
        rows,
      ),
      `lower is better; the time includes the trigger request and the load client reading ${settings.connections} sockets on one core.`,
      `other CPU on the box in kept windows: up to ${Math.max(...[...runs.values()].flat().map((x) => x.otherCpuPctOfCore)).toFixed(1)}% of a core ` +
        `(${discarded.length} noisy run(s) repeated)`,
    );
    out.broadcast = { runs: Object.fromEntries(runs), discarded, ratios: { lastMs: last } };
  }
} finally {
  restoreAutogroup();
}

const fingerprintAfter = codeFingerprint(echoExample);
out.git = { commit: git(['rev-parse', 'HEAD']) };
out.codeFingerprint = { before: fingerprintBefore, after: fingerprintAfter };
if (fingerprintAfter !== fingerprintBefore) {
  lines.push(
    'WARNING: packages/core/dist or the echo example changed during the run: our rounds mix builds; run it again',
  );
}

mkdirSync(join(benchDir, 'results'), { recursive: true });
const stamp = started.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
const file = join(benchDir, 'results', `websocket-${stamp}.json`);
writeFileSync(
  file,
  `${JSON.stringify({ benchmark: 'websocket', ...out, finished: new Date().toISOString() }, null, 2)}\n`,
);
lines.push(`results: ${file}`);
console.log(lines.join('\n'));
