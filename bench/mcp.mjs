// MCP benchmark: tools/call round trips per second over Streamable HTTP, and the head-of-line
// figure, for MummyX (inline and threaded) and the MCP SDK's own HTTP servers on node:http, side
// by side in one run.
//
// Modes: `stateful` and `stateless` speak the 2025 eras (protocol 2025-11-25; SDK 1.x servers;
// peer: the SDK's StreamableHTTPServerTransport, bench/servers/mcp-sdk.mjs); `modern` speaks
// 2026-07-28 (no session, a `_meta` envelope on every request; SDK 2.x servers; peer:
// `toNodeHandler(createMcpHandler(factory))`, bench/servers/mcp-sdk-v2.mjs), through MummyX
// inline and threaded, each also with `reuseServers`.
//
// Calls: 1, 10 and 50 concurrent clients (bench/servers/mcp-load-client.mjs, its own process),
// one `echo` call in flight per client. Servers pinned to core 0 with their worker threads, the
// client to core 1 (so 2 workers share the server's one core with its IO thread: what threads
// cost); `--unpinned` lets both use both cores (what threads buy, when the client leaves part of
// a core free). Every server first runs the same load unmeasured for `--warmup` seconds (10 by
// default): V8 optimizes code per thread, so each worker of a pool compiles the MCP SDK's path
// for itself, and 1 s after start a pool still spent ~400 µs more per call compiling than it
// does once warm. Rounds alternate the servers; median and min–max of calls/s. Over the
// measured window only: the server's CPU per call, split into its IO thread, its worker threads
// and its other threads (V8's GC helpers, libuv) from /proc/PID/task, and the messages its IO
// thread and workers posted to each other per call (bench/servers/thread-probe.mjs; the
// shared-memory mailbox's requests and responses are not messages and are not counted).
//
// Head-of-line: 10 clients call `echo` every 20 ms while an eleventh runs a 500 ms synchronous
// tool three times (after the same warm-up, with short spins); the echo p50/p99 during the spins (servers unpinned: the spinning thread
// needs a core of its own to show what threads buy). 2025 eras: a session each, MummyX on an
// elastic pool (`--hol-threads`, a session per worker); 2026-07-28: MummyX on `--threads`
// workers (any free worker serves any request). Target: p99 < 20 ms (the SDK: ~500 ms).
//
// Usage: node bench/mcp.mjs [--rounds 2] [--duration 5] [--warmup 10] [--clients 1,10,50]
//          [--threads 2] [--hol-threads 2-16] [--modes stateful,stateless,modern]
//          [--only calls,hol] [--servers sdk,inline,threaded,inline-reuse,threaded-reuse]
//          [--unpinned] [--no-autogroup]
// Start it with `setsid` to raise its own session's autogroup only (see bench/README.md).
// Prints tables to stdout and writes every run to bench/results/mcp-<UTC time>.json.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  benchDir,
  clockTicks,
  codeFingerprint,
  defaultCores,
  formatTable,
  packageFiles,
  parseArgsOrExit,
  pinPid,
  raiseAutogroup,
  readThreadCpuTicks,
  round,
  startServer,
  stats,
  stopServer,
  writeResults,
} from './lib/harness.mjs';

const usage = `usage: node bench/mcp.mjs [--rounds 2] [--duration 5] [--warmup 10] [--clients 1,10,50]
         [--threads 2] [--hol-threads 2-16] [--modes stateful,stateless,modern] [--only calls,hol]
         [--servers sdk,inline,threaded,inline-reuse,threaded-reuse] [--unpinned] [--no-autogroup]`;
const args = {
  rounds: 2,
  duration: 5,
  warmup: 10,
  clients: '1,10,50',
  threads: '2',
  'hol-threads': '2-16',
  modes: 'stateful,stateless,modern',
  only: 'calls,hol',
  servers: 'sdk,inline,threaded,inline-reuse,threaded-reuse',
  ...parseArgsOrExit(
    process.argv.slice(2),
    {
      rounds: 'number',
      duration: 'number',
      warmup: 'number',
      clients: 'string',
      threads: 'string',
      'hol-threads': 'string',
      modes: 'string',
      only: 'string',
      servers: 'string',
      unpinned: 'flag',
      'no-autogroup': 'flag',
      help: 'flag',
    },
    usage,
  ),
};
const only = new Set(String(args.only).split(','));
const modes = String(args.modes).split(',');
const wanted = new Set(String(args.servers).split(','));
const cores = args.unpinned ? { server: null, client: undefined } : defaultCores();
const restoreAutogroup = args['no-autogroup'] ? () => {} : raiseAutogroup(-10);
const ticks = clockTicks();
const mummyx = join(benchDir, 'servers/mcp-mummyx.mjs');

/** The servers of a mode, in the order each round runs them. */
function servers(mode, threads = args.threads) {
  const modern = mode === 'modern';
  const env = mode === 'stateless' ? { MCP_STATELESS: '1' } : modern ? { MCP_SDK: 'v2' } : {};
  const list = [
    modern
      ? { name: 'sdk', label: 'SDK 2.x createMcpHandler (node:http)', args: [join(benchDir, 'servers/mcp-sdk-v2.mjs')] }
      : { name: 'sdk', label: 'SDK 1.x transport (node:http)', args: [join(benchDir, 'servers/mcp-sdk.mjs')] },
    { name: 'inline', label: 'MummyX inline', args: [mummyx], env: { THREADS: '0' } },
    { name: 'threaded', label: `MummyX ${threads} workers`, args: [mummyx], env: { THREADS: String(threads) } },
  ];
  if (modern) {
    list.push(
      {
        name: 'inline-reuse',
        label: 'MummyX inline, reuseServers',
        args: [mummyx],
        env: { THREADS: '0', MCP_REUSE: '1' },
      },
      {
        name: 'threaded-reuse',
        label: `MummyX ${threads} workers, reuseServers`,
        args: [mummyx],
        env: { THREADS: String(threads), MCP_REUSE: '1' },
      },
    );
  }
  return list
    .filter((config) => wanted.has(config.name))
    .map((config) => ({
      ...config,
      command: process.execPath,
      env: { ...env, ...config.env },
      isMummyx: config.name !== 'sdk',
    }));
}

/**
 * Runs the load client; `onMark('start' | 'end')` is awaited when it enters and leaves its
 * measured window (the client goes on meanwhile).
 */
function runClient(clientArgs, { core, onMark } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(benchDir, 'servers/mcp-load-client.mjs'), ...clientArgs], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (core !== undefined && child.pid !== undefined) pinPid(child.pid, core);
    let summary;
    let err = '';
    const marks = [];
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('MCP_SUMMARY ')) summary = JSON.parse(line.slice('MCP_SUMMARY '.length));
      else if (line.startsWith('MCP_MEASURE ') && onMark !== undefined) marks.push(onMark(line.slice(12)));
    });
    child.stderr.on('data', (chunk) => (err += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      Promise.all(marks).then(() => {
        if (code !== 0 || summary === undefined)
          reject(new Error(`load client failed (${code}): ${err.slice(-2_000)}`));
        else resolve(summary);
      }, reject);
    });
  });
}

/** A MummyX server's message counts and worker thread ids (thread-probe.mjs); undefined for the peers. */
async function probe(server, config) {
  if (!config.isMummyx) return undefined;
  const response = await fetch(`${server.url}/bench/probe`);
  return response.json();
}

/** What the server did over the measured window: CPU per thread class, messages. */
function windowOf(server, before, after) {
  const workers = new Set(after.probe?.workerTids ?? []);
  const cpu = { io: 0, workers: 0, other: 0 };
  for (const [tid, end] of after.threads) {
    const spent = end - (before.threads.get(tid) ?? 0);
    if (tid === server.pid) cpu.io += spent;
    else if (workers.has(tid)) cpu.workers += spent;
    else cpu.other += spent;
  }
  const toUs = (t) => (t / ticks) * 1e6;
  return {
    ioUs: toUs(cpu.io),
    workersUs: toUs(cpu.workers),
    otherUs: toUs(cpu.other),
    messages:
      after.probe === undefined
        ? undefined
        : after.probe.toWorkers + after.probe.fromWorkers - before.probe.toWorkers - before.probe.fromWorkers,
  };
}

const report = {
  started: new Date().toISOString(),
  // Every .js file of core and the transport, in a stable order: the fingerprint of the code measured.
  code: codeFingerprint(...packageFiles('packages/core'), ...packageFiles('packages/mcp-transport')),
  settings: args,
  calls: [],
  hol: [],
};

const perCall = (value, calls) => (value === undefined ? undefined : value / Math.max(1, calls));

if (only.has('calls')) {
  const concurrencies = String(args.clients).split(',').map(Number);
  for (const mode of modes) {
    const configs = servers(mode);
    for (const clients of concurrencies) {
      const runs = new Map();
      for (let r = 0; r < Number(args.rounds); r++) {
        for (const config of configs) {
          const server = await startServer({ ...config, core: cores.server, readyTimeoutMs: 60_000 });
          const failures = report.failures ?? (report.failures = []);
          try {
            const samples = {};
            const summary = await runClient(
              [
                'calls',
                '--url',
                `${server.url}/mcp`,
                '--clients',
                String(clients),
                '--warmup',
                String(args.warmup),
                '--duration',
                String(args.duration),
                '--stateless',
                mode === 'stateless' ? '1' : '0',
                '--era',
                mode === 'modern' ? '2026' : '2025',
              ],
              {
                core: cores.client,
                onMark: async (mark) => {
                  const threads = readThreadCpuTicks(server.pid);
                  samples[mark] = { threads, probe: await probe(server, config) };
                },
              },
            );
            const window = windowOf(server, samples.start, samples.end);
            summary.ioUsPerCall = perCall(window.ioUs, summary.calls);
            summary.workersUsPerCall = perCall(window.workersUs, summary.calls);
            summary.otherUsPerCall = perCall(window.otherUs, summary.calls);
            summary.serverCpuUsPerCall = perCall(window.ioUs + window.workersUs + window.otherUs, summary.calls);
            summary.messagesPerCall = perCall(window.messages, summary.calls);
            const list = runs.get(config.name) ?? [];
            list.push(summary);
            runs.set(config.name, list);
            console.error(
              `${mode} c=${clients} ${config.label}: ${round(summary.callsPerS)} calls/s, ${round(summary.serverCpuUsPerCall)} µs CPU/call`,
            );
          } catch (error) {
            // A failed run is reported and left out of the medians; the others go on.
            failures.push({
              mode,
              clients,
              server: config.label,
              round: r,
              error: String(error),
              output: server.output,
            });
            console.error(`${mode} c=${clients} ${config.label}: FAILED: ${String(error).slice(0, 500)}`);
          } finally {
            await stopServer(server);
          }
          await sleep(300);
        }
      }
      const sdk = runs.has('sdk') ? stats(runs.get('sdk').map((x) => x.callsPerS)).median : NaN;
      for (const config of configs) {
        const list = runs.get(config.name);
        if (list === undefined) continue;
        const median = (key) => (list[0][key] === undefined ? undefined : stats(list.map((x) => x[key])).median);
        const perS = stats(list.map((x) => x.callsPerS));
        report.calls.push({
          mode,
          clients,
          server: config.label,
          callsPerS: perS,
          ratioToSdk: perS.median / sdk,
          p99Us: median('p99Us'),
          serverCpuUsPerCall: median('serverCpuUsPerCall'),
          ioUsPerCall: median('ioUsPerCall'),
          workersUsPerCall: median('workersUsPerCall'),
          otherUsPerCall: median('otherUsPerCall'),
          messagesPerCall: median('messagesPerCall'),
          retriedOnReusedSockets: list.reduce((sum, x) => sum + (x.retriedOnReusedSockets ?? 0), 0),
          runs: list,
        });
      }
    }
  }
  console.log(
    `\nMCP tools/call (echo) over Streamable HTTP, one call in flight per client; ${args.unpinned ? 'unpinned' : 'server on core 0, client on core 1'}`,
  );
  const us = (value) => (value === undefined ? '' : String(round(value)));
  console.log(
    formatTable(
      [
        'mode',
        'clients',
        'server',
        'calls/s (median)',
        'min–max',
        '× SDK',
        'p99 ms',
        'CPU µs/call',
        'IO thread',
        'workers',
        'other',
        'msgs/call',
      ],
      report.calls.map((row) => [
        row.mode,
        String(row.clients),
        row.server,
        String(round(row.callsPerS.median)),
        `${round(row.callsPerS.min)}–${round(row.callsPerS.max)}`,
        row.ratioToSdk.toFixed(2),
        (row.p99Us / 1_000).toFixed(1),
        us(row.serverCpuUsPerCall),
        us(row.ioUsPerCall),
        us(row.workersUsPerCall),
        us(row.otherUsPerCall),
        row.messagesPerCall === undefined ? '' : row.messagesPerCall.toFixed(1),
      ]),
    ),
  );
  for (const failure of report.failures ?? []) {
    console.log(
      `FAILED: ${failure.mode} c=${failure.clients} ${failure.server} (round ${failure.round + 1}): ${failure.error.split('\n')[0]}`,
    );
  }
  const retried = report.calls.filter((row) => row.retriedOnReusedSockets > 0);
  for (const row of retried) {
    console.log(
      `note: ${row.mode} c=${row.clients} ${row.server}: ${row.retriedOnReusedSockets} call(s) sent again after a keep-alive race`,
    );
  }
}

if (only.has('hol')) {
  for (const mode of modes) {
    if (mode === 'stateless') continue;
    // 2025 sessions are pinned to workers: an elastic pool gives each its own. 2026 requests go to any free worker.
    const configs = servers(mode, mode === 'modern' ? args.threads : args['hol-threads']);
    for (const config of configs) {
      // Unpinned: the spinning thread and the rest must be able to use both cores.
      const server = await startServer({ ...config, core: null, readyTimeoutMs: 60_000 });
      try {
        const summary = await runClient([
          'hol',
          '--url',
          `${server.url}/mcp`,
          '--warmup',
          String(args.warmup),
          '--era',
          mode === 'modern' ? '2026' : '2025',
        ]);
        report.hol.push({ mode, server: config.label, ...summary });
        console.error(`head-of-line ${mode} ${config.label}: p99 ${summary.p99Ms.toFixed(1)} ms`);
      } finally {
        await stopServer(server);
      }
    }
  }
  console.log(
    '\nHead-of-line: 10 clients call echo every 20 ms while an eleventh runs a 500 ms synchronous tool 3 times',
  );
  console.log(
    formatTable(
      ['mode', 'server', 'echo p50 ms', 'echo p99 ms', 'max ms', 'baseline p99 ms', 'samples'],
      report.hol.map((row) => [
        row.mode,
        row.server,
        row.p50Ms.toFixed(1),
        row.p99Ms.toFixed(1),
        row.maxMs.toFixed(1),
        row.baselineP99Ms.toFixed(1),
        String(row.samples),
      ]),
    ),
  );
}

restoreAutogroup();
report.finished = new Date().toISOString();
console.error(`\nwrote ${writeResults('mcp', report)}`);
