// Cluster overhead on one machine (issue 26): publish -> delivery latency of a pub/sub topic on one
// node (no Redis), on one node of a cluster, and across nodes through Redis; the latency a
// request for a session held by another node pays for being forwarded there; and 2026-07-28
// tools/call per second through HAProxy round-robin to one mummyx-demo node or three.
//   node bench/cluster.mjs [--messages 1000] [--requests 1000] [--rounds 3] [--duration 10] [--connections 10]
// The throughput part needs wrk and haproxy (Debian packages); --duration 0 leaves it out.
// Starts its own redis-server (Debian's) on a free port and the nodes (bench/servers/cluster-node.mjs),
// all on 127.0.0.1; everything is stopped by PID at the end. Each measurement is sequential (one
// message or request in flight), so it reads latency, not throughput.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { writeFileSync } from 'node:fs';
import {
  benchDir,
  freePort,
  parseArgsOrExit,
  repoRoot,
  round,
  runWrk,
  startServer,
  stopServer,
  summaryLua,
} from './lib/harness.mjs';

const usage =
  'usage: node bench/cluster.mjs [--messages N] [--requests N] [--rounds N] [--duration S] [--connections N]';
const args = {
  messages: 1000,
  requests: 1000,
  rounds: 3,
  duration: 10,
  connections: 10,
  ...parseArgsOrExit(
    process.argv.slice(2),
    { messages: 'number', requests: 'number', rounds: 'number', duration: 'number', connections: 'number' },
    usage,
  ),
};
const nodeScript = join(benchDir, 'servers', 'cluster-node.mjs');

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
function summary(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: round(percentile(sorted, 50), 3), p99: round(percentile(sorted, 99), 3), n: sorted.length };
}

async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'mummyx-bench-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let output = '';
  for await (const chunk of child.stdout) {
    output += chunk;
    if (output.includes('Ready to accept connections')) break;
  }
  child.stdout.resume();
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGKILL');
      await once(child, 'exit');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const startNode = (name, redisUrl) =>
  startServer({
    name,
    command: process.execPath,
    args: [nodeScript],
    env: { NODE_ID: name, REDIS_URL: redisUrl ?? '' },
  });

/** An SSE reader that resolves `next(text)` when a `data: text` line arrives. */
async function subscribe(url) {
  const response = await fetch(url);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let waiting;
  let ready;
  const isReady = new Promise((resolve) => (ready = resolve));
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (event.startsWith('event: ready')) ready();
        const data = /^data: (.*)$/m.exec(event)?.[1];
        if (data !== undefined && waiting?.text === data) waiting.resolve(performance.now());
      }
    }
  })();
  await isReady;
  return {
    /** When `data: text` arrives (performance.now()), or undefined after `timeoutMs`. */
    next: (text, timeoutMs) =>
      new Promise((resolve) => {
        const timer = setTimeout(() => resolve(undefined), timeoutMs);
        waiting = {
          text,
          resolve: (at) => {
            clearTimeout(timer);
            resolve(at);
          },
        };
      }),
    close: () => reader.cancel(),
  };
}

/**
 * Publishes probes until one reaches the subscriber: across nodes, the subscriber's node
 * subscribes to the topic in Redis only after the stream opened, and a message published before
 * that reaches nobody there.
 */
async function untilDelivered(publisherUrl, subscriber, topic) {
  for (let i = 0; i < 100; i++) {
    const text = `probe${i}`;
    const arrived = subscriber.next(text, 200);
    await (await fetch(`${publisherUrl}/publish/${topic}`, { method: 'POST', body: text })).arrayBuffer();
    if ((await arrived) !== undefined) return;
  }
  throw new Error(`no probe published on ${publisherUrl} reached the subscriber of ${topic}`);
}

async function publishLatency(publisherUrl, subscriberUrl, count, topic) {
  const subscriber = await subscribe(`${subscriberUrl}/events/${topic}`);
  await untilDelivered(publisherUrl, subscriber, topic);
  const samples = [];
  for (let i = 0; i < count + 50; i++) {
    const text = `m${i}`;
    const arrived = subscriber.next(text, 10_000);
    const started = performance.now();
    const response = await fetch(`${publisherUrl}/publish/${topic}`, { method: 'POST', body: text });
    await response.arrayBuffer();
    const at = await arrived;
    if (at === undefined) throw new Error(`${text} published on ${publisherUrl} never reached ${subscriberUrl}`);
    if (i >= 50) samples.push(at - started);
  }
  await subscriber.close();
  return samples;
}

async function requestLatency(url, count) {
  const samples = [];
  for (let i = 0; i < count + 50; i++) {
    const started = performance.now();
    const response = await fetch(url);
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`${url}: ${response.status}`);
    if (i >= 50) samples.push(performance.now() - started);
  }
  return samples;
}

/**
 * 2026-07-28 `tools/call` (cpu_work, one round) per second through HAProxy round-robin: to one
 * node (all three server lines point at n1) and to three. Rounds alternate the two.
 */
async function mcpThroughput(redisUrl, dataDir) {
  const demo = join(repoRoot, 'apps', 'demo', 'dist', 'cli.js');
  const nodes = [];
  for (const name of ['n1', 'n2', 'n3']) {
    nodes.push(
      await startServer({
        name,
        command: process.execPath,
        args: [demo, '--port', '0', '--threads', '2', '--data-dir', dataDir, '--redis', redisUrl, '--node-id', name],
        readyTimeoutMs: 60_000,
      }),
    );
  }
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: {
      name: 'cpu_work',
      arguments: { rounds: 1 },
      _meta: {
        'io.modelcontextprotocol/protocolVersion': '2026-07-28',
        'io.modelcontextprotocol/clientCapabilities': {},
        'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1' },
      },
    },
  });
  const script = join(dataDir, 'tools-call.lua');
  writeFileSync(
    script,
    `wrk.method = "POST"\nwrk.body = ${JSON.stringify(body)}\n` +
      `wrk.headers["Content-Type"] = "application/json"\nwrk.headers["Accept"] = "application/json, text/event-stream"\n` +
      `wrk.headers["MCP-Protocol-Version"] = "2026-07-28"\nwrk.headers["Mcp-Method"] = "tools/call"\n` +
      `wrk.headers["Mcp-Name"] = "cpu_work"\ndofile(${JSON.stringify(summaryLua)})\n`,
  );
  const hosts = nodes.map((node) => new URL(node.url).host);
  const layouts = { 'one node': [hosts[0], hosts[0], hosts[0]], 'three nodes': hosts };
  const results = { 'one node': [], 'three nodes': [] };
  try {
    for (let r = 0; r < args.rounds; r++) {
      for (const [layout, servers] of Object.entries(layouts)) {
        const frontPort = await freePort();
        const haproxy = await startHaproxy(frontPort, servers);
        try {
          await runWrk({
            url: `http://127.0.0.1:${frontPort}/mcp`,
            durationS: 2,
            connections: args.connections,
            script,
          });
          const run = await runWrk({
            url: `http://127.0.0.1:${frontPort}/mcp`,
            durationS: args.duration,
            connections: args.connections,
            script,
          });
          const errors = Object.values(run.errors).reduce((a, b) => a + b, 0);
          results[layout].push({ rps: run.requests_per_s, p99Ms: run.latency_us.p99 / 1000, errors });
        } finally {
          haproxy.kill('SIGKILL');
          await once(haproxy, 'exit');
        }
      }
    }
  } finally {
    for (const node of nodes) await stopServer(node);
  }
  return results;
}

async function startHaproxy(frontPort, servers) {
  const config = join(repoRoot, 'examples', 'cluster', 'haproxy-round-robin.cfg');
  const env = {
    ...process.env,
    FRONT: `127.0.0.1:${frontPort}`,
    NODE1: servers[0],
    NODE2: servers[1],
    NODE3: servers[2],
  };
  const child = spawn('haproxy', ['-db', '-f', config], { env, stdio: ['ignore', 'ignore', 'ignore'] });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${frontPort}/health`)).status === 200) return child;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill('SIGKILL');
  throw new Error('haproxy did not come up');
}

const redis = await startRedis();
const solo = await startNode('solo');
const a = await startNode('a', redis.url);
const b = await startNode('b', redis.url);
const results = { soloNode: [], sameNode: [], crossNode: [], direct: [], forwarded: [] };
try {
  const key = await (await fetch(`${a.url}/open`, { method: 'POST' })).text();
  for (let r = 0; r < args.rounds; r++) {
    results.soloNode.push(...(await publishLatency(solo.url, solo.url, args.messages, `t${r}`)));
    results.sameNode.push(...(await publishLatency(a.url, a.url, args.messages, `t${r}`)));
    results.crossNode.push(...(await publishLatency(a.url, b.url, args.messages, `t${r}`)));
    results.direct.push(...(await requestLatency(`${a.url}/session/${key}`, args.requests)));
    results.forwarded.push(...(await requestLatency(`${b.url}/session/${key}`, args.requests)));
  }
} finally {
  for (const node of [solo, a, b]) await stopServer(node);
}
let throughput;
const dataDir = mkdtempSync(join(tmpdir(), 'mummyx-bench-cluster-'));
try {
  if (args.duration > 0) throughput = await mcpThroughput(redis.url, dataDir);
} finally {
  await redis.stop();
  rmSync(dataDir, { recursive: true, force: true });
}

const table = Object.fromEntries(Object.entries(results).map(([name, values]) => [name, summary(values)]));
console.log(
  `node ${process.version}, load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
console.log('publish -> delivery latency, ms (POST to the publisher + delivery on the subscriber stream)');
console.log(
  `  one node, no Redis        p50 ${table.soloNode.p50}  p99 ${table.soloNode.p99}  (n=${table.soloNode.n})`,
);
console.log(`  cluster, same node        p50 ${table.sameNode.p50}  p99 ${table.sameNode.p99}`);
console.log(`  cluster, across nodes     p50 ${table.crossNode.p50}  p99 ${table.crossNode.p99}`);
console.log('session request latency, ms (GET of a session route)');
console.log(`  on the node holding it    p50 ${table.direct.p50}  p99 ${table.direct.p99}  (n=${table.direct.n})`);
console.log(`  forwarded by another node p50 ${table.forwarded.p50}  p99 ${table.forwarded.p99}`);
console.log(
  `  added by forwarding       p50 ${round(table.forwarded.p50 - table.direct.p50, 3)}  p99 ${round(table.forwarded.p99 - table.direct.p99, 3)}`,
);
if (throughput !== undefined) {
  console.log(
    `2026-07-28 tools/call (cpu_work, 1 round) through HAProxy round-robin, wrk -c${args.connections} ${args.duration} s, per round:`,
  );
  for (const [layout, runs] of Object.entries(throughput)) {
    const text = runs.map((run) => `${round(run.rps)}/s (p99 ${round(run.p99Ms, 1)} ms, ${run.errors} errors)`);
    console.log(`  ${layout.padEnd(12)} ${text.join('  ')}`);
  }
}
