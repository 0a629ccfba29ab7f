// MCP Tasks extension benchmark (io.modelcontextprotocol/tasks on the 2026-07-28 path), against the
// SDK 2.x server of bench/servers/mcp-tasks-app.mjs (a `work` tool that sleeps `ms`, run as a task),
// inline and on worker threads. The server (with its workers) is pinned to core 0, this process
// (the load) to core 1.
//
// - latency: creation to first poll. One client, one task at a time: tools/call (`work`, 100 ms)
//   until its CreateTaskResult (the task is stored before the answer), then tasks/get at once;
//   p50/p99 of each round trip and of both. Threaded, the poll is served by another worker than
//   the one running the tool, and both reach the store on the IO thread by message passing.
// - polls: tasks/get per second, one poll in flight per client, over 64 finished tasks, with a
//   plain synchronous tools/call (`work`, 0 ms, no task) on the same server beside it; server CPU
//   per request from /proc.
// - memory: the server's RSS before and after 10,000 finished tasks it holds until their ttl
//   (10 min), against the same 10,000 kept 1 s (expired when measured): the difference is what
//   holding them costs; and how fast it created them (16 clients).
//
// Usage: node bench/tasks.mjs [--threads 2] [--samples 100] [--clients 10,50] [--duration 5]
//          [--warmup 1] [--tasks 10000] [--only latency,polls,memory]
// Prints tables to stdout and writes the run to bench/results/tasks-<UTC time>.json.
import http from 'node:http';
import { join } from 'node:path';
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
  readProcessCpuTicks,
  readProcessMemory,
  round,
  startServer,
  stopServer,
  writeResults,
} from './lib/harness.mjs';

const usage = `usage: node bench/tasks.mjs [--threads 2] [--samples 100] [--clients 10,50] [--duration 5]
         [--warmup 1] [--tasks 10000] [--only latency,polls,memory]`;
const args = {
  threads: 2,
  samples: 100,
  clients: '10,50',
  duration: 5,
  warmup: 1,
  tasks: 10_000,
  only: 'latency,polls,memory',
  ...parseArgsOrExit(
    process.argv.slice(2),
    {
      threads: 'number',
      samples: 'number',
      clients: 'string',
      duration: 'number',
      warmup: 'number',
      tasks: 'number',
      only: 'string',
      help: 'flag',
    },
    usage,
  ),
};
const only = new Set(String(args.only).split(','));
const cores = defaultCores();
const ticks = clockTicks();
pinPid(process.pid, cores.client);

const modern = '2026-07-28';
const envelope = (tasks) => ({
  'io.modelcontextprotocol/protocolVersion': modern,
  'io.modelcontextprotocol/clientCapabilities': tasks ? { extensions: { 'io.modelcontextprotocol/tasks': {} } } : {},
  'io.modelcontextprotocol/clientInfo': { name: 'bench-tasks', version: '1.0.0' },
});

/** A keep-alive JSON-RPC client of one server's /mcp. */
function client(url, maxSockets) {
  const { port } = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  let id = 0;
  const post = (method, params, name, tasks = true) =>
    new Promise((resolve, reject) => {
      const body = Buffer.from(
        JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params: { ...params, _meta: envelope(tasks) } }),
      );
      const request = http.request(
        {
          host: '127.0.0.1',
          port,
          path: '/mcp',
          method: 'POST',
          agent,
          headers: {
            'Content-Type': 'application/json',
            Accept: 'application/json, text/event-stream',
            'MCP-Protocol-Version': modern,
            'Mcp-Method': method,
            'Mcp-Name': name,
            'Content-Length': body.length,
          },
        },
        (response) => {
          const chunks = [];
          response.on('data', (chunk) => chunks.push(chunk));
          response.on('end', () => {
            const message = JSON.parse(Buffer.concat(chunks).toString());
            if (message.error !== undefined) reject(new Error(`${method}: ${JSON.stringify(message.error)}`));
            else resolve(message.result);
          });
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  return {
    createTask: async (ms) => (await post('tools/call', { name: 'work', arguments: { ms } }, 'work')).taskId,
    get: (taskId) => post('tasks/get', { taskId }, taskId),
    callPlain: () => post('tools/call', { name: 'work', arguments: { ms: 0 } }, 'work', false),
    close: () => agent.destroy(),
  };
}

const configs = [
  { name: 'inline', label: 'MummyX inline', threads: 0 },
  { name: 'threads', label: `MummyX ${args.threads} workers`, threads: Number(args.threads) },
];

function start(config, env = {}) {
  return startServer({
    name: config.name,
    command: process.execPath,
    args: [join(benchDir, 'servers/mcp-tasks.mjs')],
    env: { THREADS: String(config.threads), ...env },
    core: cores.server,
    readyTimeoutMs: 60_000,
  });
}

const ms = (ns) => Number(ns) / 1e6;
/** formatTable takes strings. */
const table = (header, rows) =>
  formatTable(
    header,
    rows.map((row) => row.map(String)),
  );

/** Runs `work` from `clients` loops for warm-up + duration; counts completions in the measured part. */
async function load(clients, work) {
  const latencies = [];
  let measuring = false;
  let stop = false;
  const loops = Array.from({ length: clients }, async () => {
    while (!stop) {
      const t0 = process.hrtime.bigint();
      await work();
      if (measuring) latencies.push(ms(process.hrtime.bigint() - t0));
    }
  });
  await sleep(Number(args.warmup) * 1_000);
  measuring = true;
  const started = performance.now();
  await sleep(Number(args.duration) * 1_000);
  measuring = false;
  const elapsedS = (performance.now() - started) / 1_000;
  stop = true;
  await Promise.all(loops);
  latencies.sort((a, b) => a - b);
  return {
    perS: latencies.length / elapsedS,
    p50Ms: latencies[Math.floor(latencies.length * 0.5)] ?? 0,
    p99Ms: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
    count: latencies.length,
  };
}

const report = {
  started: new Date().toISOString(),
  code: codeFingerprint(...packageFiles('packages/mcp-transport')),
  settings: args,
  latency: [],
  polls: [],
  memory: undefined,
  memoryHeldPerTaskBytes: undefined,
};

if (only.has('latency')) {
  for (const config of configs) {
    const server = await start(config);
    const mcp = client(server.url, 4);
    try {
      const create = [];
      const poll = [];
      const total = [];
      for (let i = 0; i < 20; i++) await mcp.get(await mcp.createTask(0));
      for (let i = 0; i < Number(args.samples); i++) {
        const t0 = process.hrtime.bigint();
        const taskId = await mcp.createTask(100);
        const t1 = process.hrtime.bigint();
        const task = await mcp.get(taskId);
        const t2 = process.hrtime.bigint();
        if (task.taskId !== taskId) throw new Error(`first poll answered ${JSON.stringify(task)}`);
        create.push(ms(t1 - t0));
        poll.push(ms(t2 - t1));
        total.push(ms(t2 - t0));
        // The next task starts once this one ended: one task at a time.
        while ((await mcp.get(taskId)).status === 'working') await sleep(20);
      }
      const pct = (list, p) => [...list].sort((a, b) => a - b)[Math.floor(list.length * p)];
      report.latency.push({
        server: config.label,
        samples: total.length,
        createP50Ms: pct(create, 0.5),
        createP99Ms: pct(create, 0.99),
        firstPollP50Ms: pct(poll, 0.5),
        firstPollP99Ms: pct(poll, 0.99),
        totalP50Ms: pct(total, 0.5),
        totalP99Ms: pct(total, 0.99),
      });
      console.error(`latency ${config.label}: p50 ${round(pct(total, 0.5), 2)} ms`);
    } finally {
      mcp.close();
      await stopServer(server);
    }
  }
  console.log('\nCreation to first poll (one task at a time; ms)');
  console.log(
    table(
      ['server', 'tools/call → task p50', 'p99', 'first tasks/get p50', 'p99', 'both p50', 'p99'],
      report.latency.map((row) => [
        row.server,
        round(row.createP50Ms, 2),
        round(row.createP99Ms, 2),
        round(row.firstPollP50Ms, 2),
        round(row.firstPollP99Ms, 2),
        round(row.totalP50Ms, 2),
        round(row.totalP99Ms, 2),
      ]),
    ),
  );
}

if (only.has('polls')) {
  const concurrencies = String(args.clients).split(',').map(Number);
  for (const config of configs) {
    const server = await start(config);
    const mcp = client(server.url, Math.max(...concurrencies));
    try {
      const taskIds = [];
      for (let i = 0; i < 64; i++) taskIds.push(await mcp.createTask(0));
      await sleep(500);
      for (const clients of concurrencies) {
        for (const kind of ['tasks/get', 'tools/call (plain)']) {
          let next = 0;
          const work = kind === 'tasks/get' ? () => mcp.get(taskIds[next++ % taskIds.length]) : () => mcp.callPlain();
          const before = readProcessCpuTicks(server.pid);
          const result = await load(clients, work);
          const cpuUs = ((readProcessCpuTicks(server.pid) - before) / ticks) * 1e6;
          const requests = result.count * (1 + Number(args.warmup) / Number(args.duration));
          report.polls.push({
            server: config.label,
            clients,
            kind,
            ...result,
            serverCpuUsPerRequest: cpuUs / requests,
          });
          console.error(`${kind} c=${clients} ${config.label}: ${round(result.perS)}/s`);
        }
      }
    } finally {
      mcp.close();
      await stopServer(server);
    }
  }
  console.log('\ntasks/get per second over 64 finished tasks, one request in flight per client');
  console.log(
    table(
      ['server', 'clients', 'request', 'per second', 'p50 ms', 'p99 ms', 'server CPU µs/request'],
      report.polls.map((row) => [
        row.server,
        String(row.clients),
        row.kind,
        round(row.perS),
        round(row.p50Ms, 2),
        round(row.p99Ms, 2),
        round(row.serverCpuUsPerRequest),
      ]),
    ),
  );
}

if (only.has('memory')) {
  // The same work twice: tasks kept 10 min (all held at the end), and tasks kept 1 s (gone by
  // then). What RSS grows by in both is the garbage of the work itself; the difference is what
  // holding the tasks costs.
  const config = configs[1];
  report.memory = [];
  for (const ttlMs of [600_000, 1_000]) {
    const server = await start(config, { TASKS_TTL_MS: String(ttlMs) });
    const mcp = client(server.url, 16);
    try {
      const create = async (count) => {
        let started = 0;
        await Promise.all(
          Array.from({ length: 16 }, async () => {
            while (started < count) {
              started++;
              await mcp.createTask(0);
            }
          }),
        );
      };
      await create(500);
      await sleep(2_000);
      const before = readProcessMemory(server.pid);
      const t0 = performance.now();
      await create(Number(args.tasks));
      const createdPerS = Number(args.tasks) / ((performance.now() - t0) / 1_000);
      await sleep(3_000);
      const after = readProcessMemory(server.pid);
      report.memory.push({ server: config.label, ttlMs, tasks: Number(args.tasks), before, after, createdPerS });
      console.error(`memory ttl ${ttlMs}: ${round((after.rssKb - before.rssKb) / 1024, 1)} MiB`);
    } finally {
      mcp.close();
      await stopServer(server);
    }
  }
  const [held, gone] = report.memory;
  const heldGrowthKb = held.after.rssKb - held.before.rssKb;
  const goneGrowthKb = gone.after.rssKb - gone.before.rssKb;
  report.memoryHeldPerTaskBytes = ((heldGrowthKb - goneGrowthKb) * 1024) / held.tasks;
  console.log(`\nRSS of ${held.server} over ${held.tasks} finished tasks`);
  console.log(
    table(
      ['tasks kept', 'RSS before', 'RSS after', 'growth', 'created/s'],
      report.memory.map((row) => [
        row.ttlMs === 1_000 ? '1 s (expired)' : '10 min (held)',
        `${round(row.before.rssKb / 1024, 1)} MiB`,
        `${round(row.after.rssKb / 1024, 1)} MiB`,
        `${round((row.after.rssKb - row.before.rssKb) / 1024, 1)} MiB`,
        round(row.createdPerS),
      ]),
    ),
  );
  console.log(
    `held − expired: ${round(((heldGrowthKb - goneGrowthKb) / 1024) * (10_000 / held.tasks), 1)} MiB per 10,000 held tasks (${round(report.memoryHeldPerTaskBytes)} B a task)`,
  );
}

console.error(`\nwrote ${writeResults('tasks', report)}`);
