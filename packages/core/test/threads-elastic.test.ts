import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { Server } from '@mummyx/core';
import { openGate } from './fixtures/gate.js';
import { jsonOf, poolOf, send, startThreaded, waitFor } from './threads-helpers.js';

/** Samples the pool every 10 ms while `work` runs; returns the peaks and the work's result. */
async function sampled<T>(
  server: Server,
  work: Promise<T>,
): Promise<{ result: T; peakWorkers: number; peakBusy: number }> {
  let peakWorkers = 0;
  let peakBusy = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const pool = poolOf(server);
      peakWorkers = Math.max(peakWorkers, pool.workers);
      peakBusy = Math.max(peakBusy, pool.busyWorkers);
      await delay(10);
    }
  })();
  try {
    return { result: await work, peakWorkers, peakBusy };
  } finally {
    sampling = false;
    await sampler;
  }
}

test(
  'an elastic pool grows under blocking load and shrinks back to min after idleTimeoutMs',
  { timeout: 30_000 },
  async (t) => {
    const { server, port } = await startThreaded(t, { threads: { min: 1, max: 4, idleTimeoutMs: 300 } });
    assert.equal(poolOf(server).workers, 1, 'starts with min workers');

    let loadDone = false;
    const load = Promise.all(Array.from({ length: 4 }, () => send(port, '/block?ms=1500'))).finally(
      () => (loadDone = true),
    );

    // Sample the pool until the load is over and the pool is back at min.
    let peakWorkers = 0;
    let peakBusy = 0;
    let firstRetiredAt: number | undefined;
    const deadline = performance.now() + 15_000;
    for (;;) {
      const pool = poolOf(server);
      // On the clock every thread shares, as the handlers' X-Ended-At.
      if (pool.workers < peakWorkers) firstRetiredAt ??= performance.timeOrigin + performance.now();
      peakWorkers = Math.max(peakWorkers, pool.workers);
      peakBusy = Math.max(peakBusy, pool.busyWorkers);
      if (loadDone && pool.workers === 1) break;
      assert.ok(performance.now() < deadline, `the pool did not shrink back to 1: ${JSON.stringify(pool)}`);
      await delay(10);
    }
    const replies = await load;

    for (const reply of replies) assert.equal(reply.status, 200);
    assert.ok(peakWorkers > 1, `the pool grew to ${peakWorkers} worker(s) while every worker was busy`);
    assert.ok(peakWorkers <= 4, `the pool grew to ${peakWorkers} workers, past max`);
    assert.ok(peakBusy >= 2, `${peakBusy} workers were busy at once`);
    const threads = new Set(replies.map((reply) => String(reply.headers['x-thread-id'])));
    assert.ok(threads.size >= 2, `the blocking requests ran on ${threads.size} thread(s)`);
    assert.ok(firstRetiredAt !== undefined);
    // No worker goes idle before its handler ends (the earliest X-Ended-At, stamped by the handler
    // itself), and none may retire before idling idleTimeoutMs (300). A busy machine only delays
    // the sample that sees a worker gone, which lengthens the idle time measured, never shortens it.
    const firstIdleAt = Math.min(...replies.map((reply) => Number(reply.headers['x-ended-at'])));
    const idled = firstRetiredAt - firstIdleAt;
    assert.ok(idled >= 290, `a worker retired ${Math.round(idled)} ms after the first handler ended`);

    await delay(500);
    assert.equal(poolOf(server).workers, 1, 'never below min');
    assert.equal(poolOf(server).workerRestarts, 0, 'idle retirement is not a restart');

    const after = await send(port, '/where');
    assert.equal(after.status, 200, 'the remaining worker still serves');
  },
);

test(
  'an elastic pool grows to max when max blocking requests arrive at once, so none of them waits',
  {
    timeout: 30_000,
  },
  async (t) => {
    const gate = openGate();
    const { server, port } = await startThreaded(t, { threads: { min: 1, max: 4, idleTimeoutMs: 300 } });
    // Each request holds its worker until all four have started: had one queued behind another,
    // the four could never be running at once, and they would answer isGathered: false.
    const load = Promise.all(Array.from({ length: 4 }, () => send(port, '/gate/gather?n=4')));
    const { result: replies, peakWorkers } = await sampled(server, load);
    for (const reply of replies) {
      assert.equal(reply.status, 200);
      assert.equal(jsonOf<{ isGathered: boolean }>(reply).isGathered, true, 'all four ran at once: none queued');
    }
    assert.equal(gate.arrived, 4);
    assert.equal(peakWorkers, 4, 'the pool grew to max');
    const threads = new Set(replies.map((reply) => String(reply.headers['x-thread-id'])));
    assert.equal(threads.size, 4, 'each blocking request had a worker of its own');
  },
);

test(
  'an elastic pool with min 0 starts a worker for the first request and lets it go when idle',
  { timeout: 30_000 },
  async (t) => {
    const { server, port } = await startThreaded(t, { threads: { min: 0, max: 2, idleTimeoutMs: 200 } });
    assert.equal(poolOf(server).workers, 0);
    const replying = send(port, '/where');
    // While it loads the app, the new worker counts as starting, neither idle nor busy.
    // (Loading takes a worker 100 ms or more; this looks every 10 ms.)
    await waitFor('a starting worker', () => poolOf(server).startingWorkers === 1, 5_000);
    const starting = poolOf(server);
    assert.deepEqual([starting.startingWorkers, starting.idleWorkers, starting.busyWorkers], [1, 0, 0]);
    const reply = await replying;
    assert.equal(reply.status, 200);
    assert.equal(jsonOf(reply).isMainThread, false);
    const after = poolOf(server);
    assert.equal(after.startingWorkers, 0, 'the worker that answered has started');
    assert.equal(after.idleWorkers + after.busyWorkers, after.workers);
    await waitFor('no workers left', () => poolOf(server).workers === 0, 5_000);
    const again = await send(port, '/where');
    assert.equal(again.status, 200, 'a new worker starts on demand');
  },
);

test(
  'an elastic pool under steady load from N connections grows to N workers, not past them',
  { timeout: 30_000 },
  async (t) => {
    const lanes = 8;
    const { server, port } = await startThreaded(t, { threads: { min: 1, max: 32, idleTimeoutMs: 30_000 } });
    const agent = new Agent({ keepAlive: true, maxSockets: lanes });
    t.after(() => agent.destroy());
    // Each lane sends its next request as soon as the previous one is answered, 30 in all. A count
    // rather than a duration: a busy machine serves fewer in a given time, the load is the same.
    const perLane = 30;
    let served = 0;
    const load = Promise.all(
      Array.from({ length: lanes }, async () => {
        for (let i = 0; i < perLane; i++) {
          const reply = await send(port, '/block?ms=5', { agent });
          assert.equal(reply.status, 200);
          served++;
        }
      }),
    );
    const { peakWorkers } = await sampled(server, load);
    assert.equal(served, lanes * perLane);
    assert.ok(peakWorkers >= 2, `the pool grew (${peakWorkers})`);
    assert.ok(peakWorkers <= lanes, `${peakWorkers} workers for ${lanes} connections: the pool overshot`);
    assert.ok(poolOf(server).workers <= lanes);
  },
);
