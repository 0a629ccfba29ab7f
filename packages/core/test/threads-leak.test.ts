import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { poolOf, runLanes, send, type Threaded, startThreaded } from './threads-helpers.js';

// The runner passes no node flags, so expose gc at run time. This must happen
// before the pool starts: workers created afterwards get `globalThis.gc` too,
// which the fixture's /heap route calls before it reads its heap.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const warmup = 10_000;
const total = 100_000;
const lanes = 32;
const threads = 2;
const MiB = 1024 * 1024;

interface Snapshot {
  rss: number;
  /** Live objects on the IO thread's heap after a full collection. */
  mainHeapUsed: number;
  mainHeapTotal: number;
  mainArrayBuffers: number;
  /** Live objects on each worker's heap after a full collection, by thread id. */
  workerHeapUsed: Map<number, number>;
  workerHeapTotal: number;
}

interface WorkerHeap {
  threadId: number;
  usedHeapSize: number;
  totalHeapSize: number;
}

async function snapshot({ port }: Threaded): Promise<Snapshot> {
  // One /heap call per worker: each holds its worker 300 ms, so they land on different workers.
  const replies = await Promise.all(Array.from({ length: threads }, () => send(port, '/heap?ms=300')));
  const heaps = replies.map((reply) => JSON.parse(reply.body.toString()) as WorkerHeap);
  gc();
  await delay(100);
  gc();
  const memory = process.memoryUsage();
  return {
    rss: memory.rss,
    mainHeapUsed: memory.heapUsed,
    mainHeapTotal: memory.heapTotal,
    mainArrayBuffers: memory.arrayBuffers,
    workerHeapUsed: new Map(heaps.map((heap) => [heap.threadId, heap.usedHeapSize])),
    workerHeapTotal: heaps.reduce((sum, heap) => sum + heap.totalHeapSize, 0),
  };
}

function mib(bytes: number): string {
  return `${bytes >= 0 ? '' : '-'}${(Math.abs(bytes) / MiB).toFixed(1)} MiB`;
}

test(
  `memory after ${total.toLocaleString('en')} threaded requests stays close to memory after ${warmup.toLocaleString('en')}`,
  // Under a minute on a quiet machine; a fixed amount of work, so minutes on a busy one.
  { timeout: 300_000 },
  async (t) => {
    const started = await startThreaded(t, { threads });
    const { server, port } = started;
    const agent = new Agent({ keepAlive: true, maxSockets: lanes });
    t.after(() => agent.destroy());
    const body = 'x'.repeat(1_024);
    let failures = 0;
    // A mix of what a request can do: small GETs, POSTs whose body crosses to the worker and back, 404s.
    const job = async (i: number): Promise<void> => {
      const kind = i % 4;
      const reply =
        kind === 0
          ? await send(port, '/echo', { body, agent })
          : await send(port, kind === 3 ? '/missing' : '/fast', { agent });
      if (reply.status !== (kind === 3 ? 404 : 200)) failures++;
    };

    const began = performance.now();
    await runLanes(lanes, warmup, job);
    const before = await snapshot(started);
    await runLanes(lanes, total - warmup, (i) => job(warmup + i));
    const seconds = (performance.now() - began) / 1000;
    const after = await snapshot(started);

    const rssGrowth = after.rss - before.rss;
    // RSS also grows while V8 enlarges each heap's young generation under load (a one-off, up to
    // ~16 MiB on the IO thread and ~8 MiB per worker); what is left is native memory.
    const heapTotalGrowth =
      after.mainHeapTotal - before.mainHeapTotal + (after.workerHeapTotal - before.workerHeapTotal);
    const nativeGrowth = rssGrowth - heapTotalGrowth;
    const workerGrowth = [...after.workerHeapUsed].map(([id, used]) => used - (before.workerHeapUsed.get(id) ?? 0));
    t.diagnostic(
      `${total} requests in ${seconds.toFixed(1)} s (${Math.round(total / seconds)} req/s), threads: ${threads}; ` +
        `rss ${mib(before.rss)} → ${mib(after.rss)} (${mib(rssGrowth)}), of which V8 heap sizing ${mib(heapTotalGrowth)}, ` +
        `native ${mib(nativeGrowth)}; live heap after gc: IO thread ${mib(before.mainHeapUsed)} → ${mib(after.mainHeapUsed)}, ` +
        `workers ${workerGrowth.map(mib).join(', ')} growth; arrayBuffers ${mib(before.mainArrayBuffers)} → ${mib(after.mainArrayBuffers)}`,
    );

    assert.equal(failures, 0, 'every request got its expected status');
    assert.equal(server.stats().requestsInFlight, 0);
    assert.equal(poolOf(server).queuedRequests, 0);
    assert.equal(poolOf(server).workerRestarts, 0);
    assert.equal(before.workerHeapUsed.size, threads, 'every worker was measured');
    assert.deepEqual([...after.workerHeapUsed.keys()].sort(), [...before.workerHeapUsed.keys()].sort());

    assert.ok(after.mainHeapUsed - before.mainHeapUsed < 4 * MiB, 'the IO thread retains nothing per request');
    for (const growth of workerGrowth) assert.ok(growth < 4 * MiB, `a worker's live heap grew ${mib(growth)}`);
    assert.ok(after.mainArrayBuffers - before.mainArrayBuffers < 4 * MiB, 'no request or response bytes are kept');
    assert.ok(nativeGrowth < 24 * MiB, `native memory grew ${mib(nativeGrowth)}`);
    assert.ok(rssGrowth < 64 * MiB, `rss grew ${mib(rssGrowth)}`);
  },
);
