// sharedCount() and sharedInt32Array(): memory the workers of one server's pool share, for limits
// that hold for the whole server (the MCP mount's maxSessions and its sessions per address).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sharedCount, sharedInt32Array } from '@mummyx/core';
import { poolOf, send, startThreaded, waitFor, type Reply } from './threads-helpers.js';

interface Totals {
  count: number;
  array: number;
}

function totalsOf(reply: Reply): Totals {
  assert.equal(reply.status, 200, reply.body.toString());
  return JSON.parse(reply.body.toString()) as Totals;
}

test(
  'the workers of a pool add to one count and one array; an exited worker takes its part of the count with it',
  { timeout: 30_000 },
  async (t) => {
    const { server, port } = await startThreaded(t, { threads: 2 });
    // Both block 300 ms: the second goes to the other worker.
    const added = await Promise.all([
      send(port, '/shared-count?add=1&ms=300'),
      send(port, '/shared-count?add=1&ms=300'),
    ]);
    assert.notEqual(added[0].headers['x-thread-id'], added[1].headers['x-thread-id'], 'one request per worker');
    assert.deepEqual(totalsOf(await send(port, '/shared-count')), { count: 2, array: 2 });

    assert.equal((await send(port, '/crash-exit')).status, 500);
    await waitFor('the replacement worker', () => poolOf(server).workerRestarts === 1 && poolOf(server).workers === 2);
    // Read it on both workers (the replacement among them).
    const after = await Promise.all([send(port, '/shared-count?ms=300'), send(port, '/shared-count?ms=300')]);
    for (const reply of after) assert.deepEqual(totalsOf(reply), { count: 1, array: 2 });
  },
);

test('another server has memory of its own', { timeout: 30_000 }, async (t) => {
  const first = await startThreaded(t, { threads: 1 });
  assert.deepEqual(totalsOf(await send(first.port, '/shared-count?add=5')), { count: 5, array: 5 });
  const second = await startThreaded(t, { threads: 1 });
  assert.deepEqual(totalsOf(await send(second.port, '/shared-count?add=1')), { count: 1, array: 1 });
  assert.deepEqual(totalsOf(await send(first.port, '/shared-count')), { count: 5, array: 5 });
});

test('on a thread no pool started, each call is memory of its own', () => {
  const count = sharedCount('test:local');
  count.add(3);
  assert.equal(count.total, 3);
  assert.equal(sharedCount('test:local').total, 0);
  const array = sharedInt32Array('test:local', 2);
  array[0] = 7;
  assert.equal(array.length, 2);
  assert.equal(sharedInt32Array('test:local', 2)[0], 0);
});
