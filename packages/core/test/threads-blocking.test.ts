import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { router } from './fixtures/threads-app.js';
import type { TimingClientConfig, TimingReport } from './fixtures/threads-timing-client.js';
import { openGate } from './fixtures/gate.js';
import { start } from './helpers.js';
import { jsonOf, poolOf, send, startThreaded } from './threads-helpers.js';

const blockMs = 2_000;
const settleMs = 200;

/** Runs the timing client on its own thread against `port`. */
async function measure(port: number): Promise<TimingReport> {
  const config: TimingClientConfig = { port, blockMs, settleMs, fastCount: 3 };
  const worker = new Worker(new URL('./fixtures/threads-timing-client.js', import.meta.url), { workerData: config });
  try {
    const message = await new Promise<{ report?: TimingReport; error?: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`timing client exited with code ${code}`)));
    });
    if (message.report === undefined) throw new Error(`timing client failed: ${message.error}`);
    return message.report;
  } finally {
    await worker.terminate();
  }
}

test(
  'threaded: while a route blocks its worker, another route answers on the other worker (threads: 2)',
  { timeout: 20_000 },
  async (t) => {
    const gate = openGate();
    const { server, port } = await startThreaded(t, { threads: 2 });
    let isBlockerDone = false;
    const blocker = send(port, '/gate/wait').finally(() => (isBlockerDone = true));
    await gate.arrivals(1);
    // The blocker holds its worker until the gate opens, and the gate opens only after these
    // answers: each of them came while the blocker was blocking, however slow the machine.
    const fastThreads: string[] = [];
    for (let i = 0; i < 3; i++) {
      const reply = await send(port, '/fast');
      fastThreads.push(String(reply.headers['x-thread-id']));
      assert.equal(reply.status, 200);
      assert.equal(isBlockerDone, false, `fast request ${i} answered while the blocker was running`);
      assert.notEqual(reply.headers['x-thread-id'], '0', 'the fast route ran on a worker');
    }
    gate.open();
    const blocked = await blocker;
    assert.equal(blocked.status, 200);
    const { threadId, isOpened } = jsonOf<{ threadId: number; isOpened: boolean }>(blocked);
    assert.equal(isOpened, true, 'the blocker waited for the gate, not for its timeout');
    assert.notEqual(threadId, 0);
    assert.ok(
      !fastThreads.includes(String(threadId)),
      `the fast route ran on the other worker: ${fastThreads.join(', ')}`,
    );
    assert.equal(poolOf(server).workerRestarts, 0);
  },
);

test(
  'inline: the same blocking route holds up every other request until it returns',
  { timeout: 20_000 },
  async (t) => {
    const { port } = await start(t, router);
    const { blocker, fast } = await measure(port);

    assert.equal(blocker.status, 200);
    const [first, ...rest] = fast;
    assert.ok(first !== undefined);
    assert.equal(first.status, 200);
    assert.equal(first.threadId, '0', 'inline handlers run on the main thread');
    // Sent while the blocker ran (the client waits 200 ms of a 2 000 ms block), answered only once
    // the blocker had answered (50 ms for two sockets' replies seen out of order by the client).
    assert.ok(first.sentAt < blocker.endedAt, 'the fast request went out while the blocker was running');
    assert.ok(first.endedAt >= blocker.endedAt - 50, 'the fast request could not finish before the blocker');
    // Once the blocker has returned, the IO thread is free again.
    for (const reply of rest) assert.equal(reply.status, 200);
  },
);
