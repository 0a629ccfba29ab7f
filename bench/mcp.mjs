// MCP benchmark: tools/call round trips per second over Streamable HTTP, and the head-of-line
// figure, for MummyX (inline and threaded) and the MCP SDK's StreamableHTTPServerTransport on
// node:http, side by side in one run.
//
// Calls: 1, 10 and 50 concurrent clients (bench/servers/mcp-load-client.mjs, its own process),
// each with its own session (stateful) or none (stateless), one `echo` call in flight per
// client. Servers pinned to core 0 with their worker threads, the client to core 1; rounds
// alternate the servers; median and min–max of calls/s, and server CPU per call from /proc.
// Target: ≥ 2× the SDK's calls/s at 50 clients.
//
// Head-of-line: 10 sessions call `echo` every 20 ms while an eleventh runs a 500 ms synchronous
// tool three times; the echo p50/p99 during the spins (servers unpinned: the spinning thread
// needs a core of its own to show what threads buy). Target: p99 < 20 ms (the SDK: ~500 ms).
//
// Usage: node bench/mcp.mjs [--rounds 2] [--duration 5] [--warmup 1] [--clients 1,10,50]
//          [--threads 2] [--hol-threads 2-16] [--only calls,hol]
// Prints tables to stdout and writes every run to bench/results/mcp-<UTC time>.json.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  benchDir,
  clockTicks,
  codeFingerprint,
  defaultCores,
  formatTable,
  git,
  machineInfo,
  parseArgsOrExit,
  pinPid,
  readProcessCpuTicks,
  repoRoot,
  round,
  startServer,
  stats,
  stopServer,
} from './lib/harness.mjs';

const usage = `usage: node bench/mcp.mjs [--rounds 2] [--duration 5] [--warmup 1] [--clients 1,10,50]
         [--threads 2] [--hol-threads 2-16] [--only calls,hol]`;
const args = {
  rounds: 2,
  duration: 5,
  warmup: 1,
  clients: '1,10,50',
  threads: '2',
  'hol-threads': '2-16',
  only: 'calls,hol',
  ...parseArgsOrExit(
    process.argv.slice(2),
    {
      rounds: 'number',
      duration: 'number',
      warmup: 'number',
      clients: 'string',
      threads: 'string',
      'hol-threads': 'string',
      only: 'string',
      help: 'flag',
    },
    usage,
  ),
};
const only = new Set(String(args.only).split(','));
const cores = defaultCores();
const ticks = clockTicks();

function servers(stateless) {
  const env = stateless ? { MCP_STATELESS: '1' } : {};
  return [
    {
      name: 'sdk',
      label: 'MCP SDK (node:http)',
      command: process.execPath,
      args: [join(benchDir, 'servers/mcp-sdk.mjs')],
      env,
    },
    {
      name: 'inline',
      label: 'MummyX inline',
      command: process.execPath,
      args: [join(benchDir, 'servers/mcp-mummyx.mjs')],
      env: { ...env, THREADS: '0' },
    },
    {
      name: 'threaded',
      label: `MummyX threads ${args.threads}`,
      command: process.execPath,
      args: [join(benchDir, 'servers/mcp-mummyx.mjs')],
      env: { ...env, THREADS: String(args.threads) },
    },
  ];
}

function runClient(clientArgs, { core } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(benchDir, 'servers/mcp-load-client.mjs'), ...clientArgs], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (core !== undefined && child.pid !== undefined) pinPid(child.pid, core);
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('MCP_SUMMARY '));
      if (code !== 0 || line === undefined) reject(new Error(`load client failed (${code}): ${err.slice(-2_000)}`));
      else resolve(JSON.parse(line.slice('MCP_SUMMARY '.length)));
    });
  });
}

/** The compiled mcp-transport package, every .js file in a stable order. */
function transportFiles() {
  const dist = join(repoRoot, 'packages/mcp-transport/dist');
  return readdirSync(dist, { recursive: true })
    .filter((name) => name.endsWith('.js'))
    .sort()
    .map((name) => join(dist, name));
}

const report = {
  started: new Date().toISOString(),
  commit: git(['rev-parse', '--short', 'HEAD']),
  code: codeFingerprint(...transportFiles()),
  machine: machineInfo(),
  settings: args,
  calls: [],
  hol: [],
};

if (only.has('calls')) {
  const concurrencies = String(args.clients).split(',').map(Number);
  for (const stateless of [false, true]) {
    for (const clients of concurrencies) {
      const runs = new Map();
      for (let r = 0; r < Number(args.rounds); r++) {
        for (const config of servers(stateless)) {
          const server = await startServer({ ...config, core: cores.server });
          try {
            const before = readProcessCpuTicks(server.pid);
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
                stateless ? '1' : '0',
              ],
              { core: cores.client },
            );
            const cpuUs = ((readProcessCpuTicks(server.pid) - before) / ticks) * 1e6;
            // CPU includes warm-up; per call it is a slight overestimate, equal for every server.
            summary.serverCpuUsPerCall =
              cpuUs / Math.max(1, summary.calls * (1 + Number(args.warmup) / Number(args.duration)));
            const list = runs.get(config.name) ?? [];
            list.push(summary);
            runs.set(config.name, list);
            console.error(
              `${stateless ? 'stateless' : 'stateful'} c=${clients} ${config.label}: ${round(summary.callsPerS)} calls/s`,
            );
          } finally {
            await stopServer(server);
          }
          await sleep(300);
        }
      }
      const sdk = stats(runs.get('sdk').map((x) => x.callsPerS)).median;
      for (const config of servers(stateless)) {
        const list = runs.get(config.name);
        const perS = stats(list.map((x) => x.callsPerS));
        report.calls.push({
          mode: stateless ? 'stateless' : 'stateful',
          clients,
          server: config.label,
          callsPerS: perS,
          ratioToSdk: perS.median / sdk,
          p99Us: stats(list.map((x) => x.p99Us)).median,
          serverCpuUsPerCall: stats(list.map((x) => x.serverCpuUsPerCall)).median,
        });
      }
    }
  }
  console.log('\nMCP tools/call (echo) over Streamable HTTP, one call in flight per client');
  console.log(
    formatTable(
      ['mode', 'clients', 'server', 'calls/s (median)', 'min–max', '× SDK', 'p99 ms', 'server CPU µs/call'],
      report.calls.map((row) => [
        row.mode,
        String(row.clients),
        row.server,
        String(round(row.callsPerS.median)),
        `${round(row.callsPerS.min)}–${round(row.callsPerS.max)}`,
        row.ratioToSdk.toFixed(2),
        (row.p99Us / 1_000).toFixed(1),
        String(round(row.serverCpuUsPerCall)),
      ]),
    ),
  );
}

if (only.has('hol')) {
  const configs = [
    {
      name: 'sdk',
      label: 'MCP SDK (node:http)',
      command: process.execPath,
      args: [join(benchDir, 'servers/mcp-sdk.mjs')],
      env: {},
    },
    {
      name: 'inline',
      label: 'MummyX inline',
      command: process.execPath,
      args: [join(benchDir, 'servers/mcp-mummyx.mjs')],
      env: { THREADS: '0' },
    },
    {
      name: 'threaded',
      label: `MummyX threads ${args['hol-threads']}`,
      command: process.execPath,
      args: [join(benchDir, 'servers/mcp-mummyx.mjs')],
      env: { THREADS: String(args['hol-threads']) },
    },
  ];
  for (const config of configs) {
    // Unpinned: the spinning thread and the rest must be able to use both cores.
    const server = await startServer({ ...config, core: null });
    try {
      const summary = await runClient(['hol', '--url', `${server.url}/mcp`]);
      report.hol.push({ server: config.label, ...summary });
      console.error(`head-of-line ${config.label}: p99 ${summary.p99Ms.toFixed(1)} ms`);
    } finally {
      await stopServer(server);
    }
  }
  console.log(
    '\nHead-of-line: 10 sessions call echo every 20 ms while one session runs a 500 ms synchronous tool 3 times',
  );
  console.log(
    formatTable(
      ['server', 'echo p50 ms', 'echo p99 ms', 'max ms', 'baseline p99 ms', 'samples'],
      report.hol.map((row) => [
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

report.finished = new Date().toISOString();
const dir = join(repoRoot, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `mcp-${report.started.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify(report, null, 2));
console.error(`\nwrote ${file}`);
