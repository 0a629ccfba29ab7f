import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonOf, poolOf, send, startThreaded, waitFor } from './threads-helpers.js';

test('a route pinned inline runs on the IO thread while other routes run on workers', async (t) => {
  const { server, port } = await startThreaded(t, { threads: 2 });
  const inline = await send(port, '/where-inline');
  assert.equal(inline.status, 200);
  assert.deepEqual(jsonOf(inline), { isMainThread: true, threadId: 0 });

  const pooled = await send(port, '/where');
  assert.equal(pooled.status, 200);
  const where = jsonOf(pooled);
  assert.equal(where.isMainThread, false);
  assert.ok(where.threadId > 0);

  // HEAD follows the GET route, and so does its placement.
  const head = await send(port, '/where-inline', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers['x-main-thread'], 'true');
  assert.equal(head.body.length, 0);
  assert.equal(poolOf(server).workerRestarts, 0);
});

test(
  'an inline route answers while every worker is blocked; unpinned routes, 404s and 405s need a worker',
  { timeout: 20_000 },
  async (t) => {
    const { server, port } = await startThreaded(t, { threads: 1, maxQueuedRequests: 0 });
    let blockerDone = false;
    const blocking = send(port, '/block?ms=1500').finally(() => (blockerDone = true));
    await waitFor('the only worker busy', () => poolOf(server).busyWorkers === 1);

    const inline = await send(port, '/where-inline');
    assert.equal(inline.status, 200);
    assert.equal(inline.headers['x-main-thread'], 'true');
    // The same moment, everything else finds no free worker and no queue room.
    for (const [method, path] of [
      ['GET', '/where'],
      ['GET', '/no/such/route'],
      ['DELETE', '/where-inline'],
    ] as const) {
      const refused = await send(port, path, { method });
      assert.equal(refused.status, 503, `${method} ${path} was sent to the pool`);
    }
    assert.equal(blockerDone, false, 'all of these answers came while the worker was blocked');
    assert.equal((await blocking).status, 200);

    assert.equal((await send(port, '/no/such/route')).status, 404);
    const wrongMethod = await send(port, '/where-inline', { method: 'DELETE' });
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.allow, 'GET, HEAD');
  },
);
