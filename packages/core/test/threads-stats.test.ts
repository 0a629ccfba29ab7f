// server.stats().pool: how long requests waited for a worker, and how long workers took with them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { poolOf, send, startThreaded } from './threads-helpers.js';

test('a fresh pool reports no wait or run times yet', async (t) => {
  const { server } = await startThreaded(t, { threads: 1 });
  const zero = { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  assert.deepEqual(poolOf(server).waitTime, zero);
  assert.deepEqual(poolOf(server).runTime, zero);
});

test('wait times count the queue, run times the handler (one worker, three 200 ms requests)', async (t) => {
  const { server, port } = await startThreaded(t, { threads: 1 });
  const replies = await Promise.all([1, 2, 3].map(() => send(port, '/block?ms=200')));
  for (const reply of replies) assert.equal(reply.status, 200);

  const { waitTime, runTime } = poolOf(server);
  assert.equal(waitTime.count, 3);
  assert.equal(runTime.count, 3);
  // One request found the worker free, one waited for it once, one twice.
  assert.ok(waitTime.max >= 380 && waitTime.max < 2_000, `longest wait ${waitTime.max} ms`);
  assert.ok(waitTime.mean >= 180 && waitTime.mean < 1_000, `mean wait ${waitTime.mean} ms`);
  assert.ok(waitTime.p50 <= waitTime.p90 && waitTime.p90 <= waitTime.p99 && waitTime.p99 <= waitTime.max);
  // Each handler blocked its thread 200 ms.
  assert.ok(runTime.p50 >= 195 && runTime.max < 1_000, `run times p50 ${runTime.p50}, max ${runTime.max} ms`);

  // Served without waiting: a quick request on the idle worker adds a wait of (nearly) nothing.
  const fast = await send(port, '/fast');
  assert.equal(fast.status, 200);
  const after = poolOf(server);
  assert.equal(after.waitTime.count, 4);
  assert.equal(after.runTime.count, 4);
  assert.ok(after.waitTime.mean < waitTime.mean, 'the quick request pulled the mean wait down');
});

test('routes pinned inline do not count: no worker ran them', async (t) => {
  const { server, port } = await startThreaded(t, { threads: 1 });
  assert.equal((await send(port, '/where')).status, 200);
  assert.equal((await send(port, '/where-inline')).status, 200);
  assert.equal(poolOf(server).waitTime.count, 1);
  assert.equal(poolOf(server).runTime.count, 1);
});
