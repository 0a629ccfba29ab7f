import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { router } from './fixtures/threads-app.js';
import type { TimingClientConfig, TimingReport } from './fixtures/threads-timing-client.js';
import { start } from './helpers.js';
import { poolOf, startThreaded } from './threads-helpers.js';

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
  'threaded: a route blocking its worker for 2 s does not delay another route (threads: 2)',
  { timeout: 20_000 },
  async (t) => {
    const { server, port } = await startThreaded(t, { threads: 2 });
    const { blocker, fast } = await measure(port);

    assert.equal(blocker.status, 200);
    assert.ok(blocker.endedAt - blocker.sentAt >= blockMs - 50, 'the blocker really blocked');
    for (const [i, reply] of fast.entries()) {
      assert.equal(reply.status, 200);
      assert.ok(reply.endedAt < blocker.endedAt, `fast request ${i} answered while the blocker was running`);
      assert.ok(reply.endedAt - reply.sentAt < 500, `fast request ${i} took ${reply.endedAt - reply.sentAt} ms`);
      assert.notEqual(reply.threadId, blocker.threadId, 'the fast route ran on the other worker');
      assert.notEqual(reply.threadId, '0', 'the fast route ran on a worker');
    }
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
    assert.ok(
      first.endedAt - first.sentAt >= 1_500,
      `the fast request waited only ${first.endedAt - first.sentAt} ms behind the blocker`,
    );
    assert.ok(first.endedAt >= blocker.endedAt - 50, 'the fast request could not finish before the blocker');
    // Once the blocker has returned, the IO thread is free again.
    for (const reply of rest) assert.equal(reply.status, 200);
  },
);
