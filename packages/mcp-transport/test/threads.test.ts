// Sessions on worker threads: each session stays on one worker, and a tool that blocks its
// thread stalls only its own session.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectClient, startMcp, textOf, type Mode } from './helpers.js';

interface Where {
  threadId: number;
  session: string;
}

async function where(client: Client): Promise<Where> {
  return JSON.parse(textOf(await client.callTool({ name: 'where' }))) as Where;
}

test('each session keeps its worker; new sessions go to the worker with the fewest', async (t) => {
  const { url, server } = await startMcp(t, 'threaded', {}, { threads: 4 });
  const clients = await Promise.all([0, 1, 2, 3].map((i) => connectClient(t, url, `c${i}`)));
  const homes: number[] = [];
  for (const client of clients) {
    const first = await where(client);
    assert.notEqual(first.threadId, 0, 'tools run on a worker');
    for (let i = 0; i < 5; i++) assert.equal((await where(client)).threadId, first.threadId, 'same worker every call');
    homes.push(first.threadId);
  }
  assert.equal(new Set(homes).size, 4, `four sessions on four workers: ${homes.join(', ')}`);
  assert.equal(server.stats().sessions, 4);
});

async function headOfLine(mode: Mode, t: TestContext): Promise<{ p50: number; p99: number }> {
  const { url } = await startMcp(t, mode, {}, mode === 'threaded' ? { threads: 12 } : {});
  const echoers = await Promise.all(Array.from({ length: 10 }, (_, i) => connectClient(t, url, `echo${i}`)));
  const spinner = await connectClient(t, url, 'spinner');
  // Warm up every session (first calls compile code on their worker).
  await Promise.all(echoers.map((client) => client.callTool({ name: 'echo', arguments: { text: 'warm' } })));
  await spinner.callTool({ name: 'spin', arguments: { ms: 1 } });
  const latencies: number[] = [];
  let spinning = true;
  const spins = (async () => {
    for (let i = 0; i < 3; i++) await spinner.callTool({ name: 'spin', arguments: { ms: 500 } });
    spinning = false;
  })();
  await Promise.all(
    echoers.map(async (client, i) => {
      while (spinning) {
        const started = performance.now();
        const result = await client.callTool({ name: 'echo', arguments: { text: `e${i}` } });
        latencies.push(performance.now() - started);
        assert.equal(textOf(result), `e${i}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }),
  );
  await spins;
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return { p50: at(0.5), p99: at(0.99) };
}

test('threaded: a 500 ms synchronous tool in one session does not stall ten others', async (t) => {
  const { p50, p99 } = await headOfLine('threaded', t);
  t.diagnostic(`threaded echo latency during 3 × 500 ms spins: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`);
  // The benchmark (bench/mcp.mjs, clients in their own process) measures the real figure against a
  // 20 ms target. Here the clients share the server's event loop on a shared 2-core machine, so the
  // bound only says what matters: the echo sessions never wait out a spin (inline, every one does).
  assert.ok(p99 < 250, `p99 ${p99.toFixed(1)} ms`);
});

test('inline (the difference): the same spins stall every other session', async (t) => {
  const { p50, p99 } = await headOfLine('inline', t);
  t.diagnostic(`inline echo latency during 3 × 500 ms spins: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`);
  assert.ok(p99 > 300, `inline p99 ${p99.toFixed(1)} ms should show the stall`);
});
