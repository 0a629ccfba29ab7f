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

/** Latencies of echo calls, in ms: while nothing blocks, and while one session spins its thread. */
interface HeadOfLine {
  baseline: Quantiles;
  spinning: Quantiles;
  /** For each spin: echo calls sent after it started and answered before it ended. */
  answeredDuringSpins: number[];
}

interface Quantiles {
  p50: number;
  p99: number;
}

function quantiles(latencies: number[]): Quantiles {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p99: at(0.99) };
}

async function headOfLine(mode: Mode, t: TestContext): Promise<HeadOfLine> {
  const { url } = await startMcp(t, mode, {}, mode === 'threaded' ? { threads: 12 } : {});
  const echoers = await Promise.all(Array.from({ length: 10 }, (_, i) => connectClient(t, url, `echo${i}`)));
  const spinner = await connectClient(t, url, 'spinner');
  // Warm up every session (first calls compile code on their worker).
  await Promise.all(echoers.map((client) => client.callTool({ name: 'echo', arguments: { text: 'warm' } })));
  await spinner.callTool({ name: 'spin', arguments: { ms: 1 } });

  /** The clock every thread shares (ms since the epoch), as the spin tool reports it. */
  const now = (): number => performance.timeOrigin + performance.now();
  interface Call {
    sentAt: number;
    answeredAt: number;
  }
  /** Every echoer calls echo in a loop, 20 ms apart, until `window` settles. */
  const echoUntil = async <T>(window: Promise<T>): Promise<{ calls: Call[]; result: T }> => {
    let isOpen = true;
    void window.finally(() => (isOpen = false));
    const calls: Call[] = [];
    await Promise.all(
      echoers.map(async (client, i) => {
        while (isOpen) {
          const sentAt = now();
          const result = await client.callTool({ name: 'echo', arguments: { text: `e${i}` } });
          calls.push({ sentAt, answeredAt: now() });
          assert.equal(textOf(result), `e${i}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }),
    );
    return { calls, result: await window };
  };
  const latencies = (calls: Call[]): number[] => calls.map((call) => call.answeredAt - call.sentAt);

  // Windows without and with a 500 ms spin, alternating, so both see the same load on the machine.
  const baseline: number[] = [];
  const spinning: number[] = [];
  const answeredDuringSpins: number[] = [];
  for (let round = 0; round < 3; round++) {
    baseline.push(...latencies((await echoUntil(new Promise((resolve) => setTimeout(resolve, 500)))).calls));
    const { calls, result } = await echoUntil(spinner.callTool({ name: 'spin', arguments: { ms: 500 } }));
    spinning.push(...latencies(calls));
    const spin = JSON.parse(textOf(result)) as { startedAt: number; endedAt: number };
    answeredDuringSpins.push(
      calls.filter((call) => call.sentAt >= spin.startedAt && call.answeredAt <= spin.endedAt).length,
    );
  }
  return { baseline: quantiles(baseline), spinning: quantiles(spinning), answeredDuringSpins };
}

const describeLatency = ({ p50, p99 }: Quantiles): string => `p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`;

test('threaded: a 500 ms synchronous tool in one session does not stall ten others', async (t) => {
  const { baseline, spinning, answeredDuringSpins } = await headOfLine('threaded', t);
  t.diagnostic(
    `threaded echo latency: no spin ${describeLatency(baseline)}; during spins ${describeLatency(spinning)}`,
  );
  t.diagnostic(`echo calls sent and answered while a spin ran: ${answeredDuringSpins.join(', ')}`);
  // Causes first: other sessions were served while the spin held its thread (inline, none can be).
  for (const [i, count] of answeredDuringSpins.entries()) {
    assert.ok(count > 0, `spin ${i}: no echo call was sent and answered while it ran`);
  }
  // Then the cost, against the same calls measured beside it without a spin, so a busy machine
  // slows both: the spins may cost the other sessions a little CPU, never a wait for the spin.
  assert.ok(
    spinning.p50 < 5 * baseline.p50 + 10,
    `p50 ${spinning.p50.toFixed(1)} ms during spins, over 5 × the ${baseline.p50.toFixed(1)} ms without + 10 ms`,
  );
  const bound = 5 * baseline.p99 + 10;
  assert.ok(
    spinning.p99 < bound,
    `p99 ${spinning.p99.toFixed(1)} ms during spins, over 5 × the ${baseline.p99.toFixed(1)} ms without + 10 ms`,
  );
});

test('inline (the difference): the same spins stall every other session', async (t) => {
  const { baseline, spinning, answeredDuringSpins } = await headOfLine('inline', t);
  t.diagnostic(`inline echo latency: no spin ${describeLatency(baseline)}; during spins ${describeLatency(spinning)}`);
  assert.deepEqual(answeredDuringSpins, [0, 0, 0], 'nothing is answered while the one thread spins');
  assert.ok(spinning.p99 > 300, `inline p99 ${spinning.p99.toFixed(1)} ms should show the stall`);
});
