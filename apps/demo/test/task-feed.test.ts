import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InMemoryTaskStore, type TaskStore } from '@mummyx/mcp-transport';
import type { ActivityEvents } from '../dist/activity.js';
import { TaskFeed } from '../dist/task-feed.js';

const limits = { maxTasks: 100, maxTasksPerPrincipal: 100 };
const call = { params: { name: 'cpu_work', arguments: {} }, headers: {}, url: '/mcp', remoteAddress: '127.0.0.1' };

async function createTask(store: TaskStore, taskId: string, ttlMs = 60_000): Promise<void> {
  await store.create({ taskId, principal: 'p', ttlMs, pollIntervalMs: 1_000, runner: 'r', call }, limits);
}

/** Resolves once `published` holds `count` changes. */
async function until(published: unknown[], count: number): Promise<void> {
  for (let turn = 0; published.length < count; turn++) {
    assert.ok(turn < 1_000, `only ${published.length} changes: ${JSON.stringify(published)}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test('publishes a followed task as it is, then each change of status or message, until it ends', async () => {
  const store = new InMemoryTaskStore();
  const published: Array<ActivityEvents['task']> = [];
  const feed = new TaskFeed(
    () => store,
    (task) => published.push(task),
  );
  await createTask(store, 'a');
  await store.update('a', '1 of 2');
  feed.follow('a');
  feed.follow('a');
  await until(published, 1);
  await store.update('a', '1 of 2');
  await store.update('a', '2 of 2');
  await store.complete('a', { result: { content: [] } });
  await until(published, 3);
  // Ended: no longer followed.
  await store.expire('a');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(published, [
    { id: 'a', tool: 'cpu_work', status: 'working', statusMessage: '1 of 2' },
    { id: 'a', tool: 'cpu_work', status: 'working', statusMessage: '2 of 2' },
    { id: 'a', tool: 'cpu_work', status: 'completed' },
  ]);
});

test('a task that is gone is published as expired; a store-less feed follows nothing', async () => {
  const store = new InMemoryTaskStore();
  const published: Array<ActivityEvents['task']> = [];
  const feed = new TaskFeed(
    () => store,
    (task) => published.push(task),
  );
  feed.follow('never-created');
  await until(published, 1);
  assert.deepEqual(published, [{ id: 'never-created', tool: '', status: 'expired' }]);
  new TaskFeed(
    () => undefined,
    (task) => published.push(task),
  ).follow('x');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(published.length, 1);
});
