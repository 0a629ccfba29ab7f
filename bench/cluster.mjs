// Cluster overhead on one machine (issue 26): publish -> delivery latency of a pub/sub topic on one
// node (no Redis), on one node of a cluster, and across nodes through Redis; and the latency a
// request for a session held by another node pays for being forwarded there.
//   node bench/cluster.mjs [--messages 1000] [--requests 1000] [--rounds 3]
// Starts its own redis-server (Debian's) on a free port and the nodes (bench/servers/cluster-node.mjs),
// all on 127.0.0.1; everything is stopped by PID at the end. Each measurement is sequential (one
// message or request in flight), so it reads latency, not throughput.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { freePort, parseArgsOrExit, round, startServer, stopServer, benchDir } from './lib/harness.mjs';

const usage = 'usage: node bench/cluster.mjs [--messages N] [--requests N] [--rounds N]';
const args = {
  messages: 1000,
  requests: 1000,
  rounds: 3,
  ...parseArgsOrExit(process.argv.slice(2), { messages: 'number', requests: 'number', rounds: 'number' }, usage),
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
    next: (text) => new Promise((resolve) => (waiting = { text, resolve })),
    close: () => reader.cancel(),
  };
}

async function publishLatency(publisherUrl, subscriberUrl, count, topic) {
  const subscriber = await subscribe(`${subscriberUrl}/events/${topic}`);
  const samples = [];
  for (let i = 0; i < count + 50; i++) {
    const text = `m${i}`;
    const arrived = subscriber.next(text);
    const started = performance.now();
    const response = await fetch(`${publisherUrl}/publish/${topic}`, { method: 'POST', body: text });
    await response.arrayBuffer();
    const at = await arrived;
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
  await redis.stop();
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
