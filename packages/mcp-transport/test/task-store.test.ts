// InMemoryTaskStore, the one-process TaskStore: limits, the input rounds of a task (keys unique over
// its lifetime, partial answers, one resume per round), terminal states that stay, poll budgets,
// watchers, ttl expiry; and the key allocation as a property.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { InMemoryTaskStore, TaskLimitError, type NewTask, type TaskRecord } from '@mummyx/mcp-transport';

const limits = { maxTasks: 100, maxTasksPerPrincipal: 100 };
const error = { code: -32603, message: 'closing' };

function newTask(taskId: string, overrides: Partial<NewTask> = {}): NewTask {
  return {
    taskId,
    principal: 'p',
    ttlMs: 60_000,
    pollIntervalMs: 1_000,
    runner: 'r1',
    call: { params: { name: 'tool' }, headers: {}, url: 'http://localhost/mcp', remoteAddress: '127.0.0.1' },
    ...overrides,
  };
}

function storeFor(t: import('node:test').TestContext): InMemoryTaskStore {
  const store = new InMemoryTaskStore();
  t.after(() => store.close(error));
  return store;
}

test('create refuses more tasks than the server or a principal may hold, naming the limit; expiry frees a place', async (t) => {
  const store = storeFor(t);
  const small = { maxTasks: 3, maxTasksPerPrincipal: 2 };
  await store.create(newTask('a1', { principal: 'a' }), small);
  await store.create(newTask('a2', { principal: 'a' }), small);
  await assert.rejects(store.create(newTask('a3', { principal: 'a' }), small), (thrown: unknown) => {
    assert.ok(thrown instanceof TaskLimitError);
    assert.equal(thrown.code, 'MX_ERR_TASK_LIMIT');
    assert.equal(thrown.scope, 'principal');
    assert.equal(thrown.limit, 2);
    return true;
  });
  await store.create(newTask('b1', { principal: 'b' }), small);
  await assert.rejects(store.create(newTask('b2', { principal: 'b' }), small), { scope: 'server', limit: 3 });
  assert.equal(await store.expire('a1'), true);
  assert.equal(await store.expire('a1'), false);
  await store.create(newTask('a3', { principal: 'a' }), small);
  await assert.rejects(store.create(newTask('a3'), limits), RangeError);
});

test('a new task is working, stamped, and found by get at once', async (t) => {
  const store = storeFor(t);
  const before = Date.now();
  const created = await store.create(newTask('t1'), limits);
  assert.equal(created.status, 'working');
  assert.ok(created.createdAtMs >= before && created.lastUpdatedAtMs === created.createdAtMs);
  assert.equal(await store.get('t1'), created);
  assert.equal(await store.get('t2'), undefined);
  assert.ok(Object.isFrozen(created));
});

test('input rounds: keys stay unique over the task, partial answers keep it waiting, the last one resumes it once', async (t) => {
  const store = storeFor(t);
  await store.create(newTask('t1'), limits);
  const elicit = { method: 'elicitation/create', params: { message: 'name?' } };
  const waiting = await store.requestInput('t1', { inputRequests: { name: elicit, ok: elicit }, requestState: 's1' });
  assert.equal(waiting?.status, 'input_required');
  assert.deepEqual(Object.keys(waiting.inputRequests!), ['name', 'ok']);

  // An unknown key changes nothing; a partial answer keeps the task waiting on the rest.
  const ignored = await store.answerInput('t1', { other: { action: 'accept' } }, 'r2');
  assert.equal(ignored?.task, waiting);
  assert.equal(ignored?.resume, undefined);
  const partial = await store.answerInput('t1', { name: { action: 'accept', content: { name: 'Ada' } } }, 'r2');
  assert.equal(partial?.task.status, 'input_required');
  assert.deepEqual(Object.keys(partial.task.inputRequests!), ['ok']);
  assert.equal(partial?.resume, undefined);

  const last = await store.answerInput('t1', { ok: { action: 'accept' }, name: { action: 'decline' } }, 'r2');
  assert.equal(last?.task.status, 'working');
  assert.equal(last?.task.runner, 'r2');
  assert.deepEqual(last?.resume, {
    inputResponses: { name: { action: 'accept', content: { name: 'Ada' } }, ok: { action: 'accept' } },
    requestState: 's1',
  });
  // Answering again resumes nothing: the round is over.
  assert.equal((await store.answerInput('t1', { ok: { action: 'accept' } }, 'r3'))?.resume, undefined);

  // The tool asks under the same keys again: the task uses new ones, and maps the answers back.
  const again = await store.requestInput('t1', { inputRequests: { name: elicit }, requestState: 's2' });
  assert.deepEqual(Object.keys(again!.inputRequests!), ['name~2']);
  assert.equal(again?.rounds, 2);
  const resumed = await store.answerInput('t1', { 'name~2': { action: 'accept', content: { name: 'Ace' } } }, 'r4');
  assert.deepEqual(resumed?.resume, {
    inputResponses: { name: { action: 'accept', content: { name: 'Ace' } } },
    requestState: 's2',
  });
  assert.deepEqual(resumed?.task.usedKeys, ['name', 'ok', 'name~2']);
});

test('terminal states stay: complete, cancel, update and input on an ended task change nothing', async (t) => {
  const store = storeFor(t);
  await store.create(newTask('t1'), limits);
  const updated = await store.update('t1', 'half way');
  assert.equal(updated?.statusMessage, 'half way');
  const cancelled = await store.cancel('t1', 'Cancelled by the client');
  assert.equal(cancelled?.status, 'cancelled');
  assert.equal(cancelled?.runner, undefined);
  for (const change of [
    store.complete('t1', { result: { content: [] } }),
    store.complete('t1', { error: { code: 1, message: 'x' } }),
    store.cancel('t1', 'again'),
    store.update('t1', 'later'),
    store.requestInput('t1', { inputRequests: { a: {} }, requestState: undefined }),
  ]) {
    assert.equal(await change, cancelled);
  }
  await store.create(newTask('t2'), limits);
  const failed = await store.complete('t2', {
    error: { code: -32602, message: 'bad' },
    statusMessage: 'Tool execution failed: bad',
  });
  assert.equal(failed?.status, 'failed');
  assert.deepEqual(failed?.error, { code: -32602, message: 'bad' });
  assert.equal(await store.cancel('t2', 'x'), failed);
  for (const missing of [store.update('x', 'm'), store.cancel('x', 'm'), store.complete('x', { result: {} })]) {
    assert.equal(await missing, undefined);
  }
});

test('polls draw on a budget per task: a burst, then one per refill; the wait is told', async (t) => {
  const store = storeFor(t);
  await store.create(newTask('t1'), limits);
  await store.create(newTask('t2'), limits);
  const budget = { burst: 2, refillMs: 200 };
  assert.equal((await store.poll('t1', budget))?.retryAfterMs, 0);
  assert.equal((await store.poll('t1', budget))?.retryAfterMs, 0);
  const refused = await store.poll('t1', budget);
  assert.equal(refused?.task.taskId, 't1');
  assert.ok(refused.retryAfterMs > 0 && refused.retryAfterMs <= 200, String(refused?.retryAfterMs));
  assert.equal((await store.poll('t2', budget))?.retryAfterMs, 0, 'another task has its own budget');
  await new Promise((resolve) => setTimeout(resolve, refused.retryAfterMs + 20));
  assert.equal((await store.poll('t1', budget))?.retryAfterMs, 0);
  assert.equal(await store.poll('missing', budget), undefined);
});

test('watchers hear the current state first, then every change, then undefined once the ttl deletes the task', async (t) => {
  const store = storeFor(t);
  await store.create(newTask('t1', { ttlMs: 150 }), limits);
  const heard: (TaskRecord | undefined)[] = [];
  const gone = new Promise<void>((resolve) => {
    store.watch('t1', (task) => {
      heard.push(task);
      if (task === undefined) resolve();
    });
  });
  const stopped: unknown[] = [];
  const stop = store.watch('t1', (task) => stopped.push(task));
  await new Promise((resolve) => setImmediate(resolve));
  stop();
  await store.update('t1', 'step 1');
  await store.complete('t1', { result: { content: [] } });
  // The store's timers do not keep the process alive: this does, until the ttl deleted the task.
  const keepAlive = setInterval(() => {}, 1_000);
  await gone.finally(() => clearInterval(keepAlive));
  assert.deepEqual(
    heard.map((task) => task?.status ?? 'gone'),
    ['working', 'working', 'completed', 'gone'],
  );
  assert.equal(stopped.length, 1, 'a stopped watcher hears nothing more');
  assert.equal(await store.get('t1'), undefined);
  assert.equal(store.size, 0);
  // Watching a task that does not exist tells so at once.
  const missing = await new Promise((resolve) => store.watch('nope', resolve));
  assert.equal(missing, undefined);
});

test('abandon fails the working tasks of a runner; close fails every unfinished task, then empties the store', async () => {
  const store = new InMemoryTaskStore();
  await store.create(newTask('r1-a', { runner: 'r1' }), limits);
  await store.create(newTask('r2-a', { runner: 'r2' }), limits);
  await store.create(newTask('r1-b', { runner: 'r1' }), limits);
  await store.requestInput('r1-b', { inputRequests: { a: {} }, requestState: undefined });
  assert.equal(store.abandon('r1', { code: -32603, message: 'gone' }), 1, 'a task waiting for input runs nowhere');
  assert.equal((await store.get('r1-a'))?.status, 'failed');
  assert.equal((await store.get('r1-b'))?.status, 'input_required');
  const ends: string[] = [];
  store.watch('r2-a', (task) => ends.push(task?.status ?? 'gone'));
  await new Promise((resolve) => setImmediate(resolve));
  store.close(error);
  assert.deepEqual(ends, ['working', 'failed', 'gone']);
  assert.equal(store.size, 0);
  await assert.rejects(store.create(newTask('late'), limits), { code: 'MX_ERR_TASK_STORE_CLOSED' });
});

test('input keys: whatever a tool asks round after round, the wire keys of a task never repeat and map back to its keys', async () => {
  const key = fc.constantFrom('a', 'b', 'a~2', 'name', 'name~3', 'x');
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.uniqueArray(key, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 }),
      async (rounds) => {
        const store = new InMemoryTaskStore();
        try {
          await store.create(newTask('t'), limits);
          const seen = new Set<string>();
          for (const toolKeys of rounds) {
            const requests = Object.fromEntries(toolKeys.map((toolKey) => [toolKey, { asked: toolKey }]));
            const waiting = await store.requestInput('t', { inputRequests: requests, requestState: undefined });
            const wireKeys = Object.keys(waiting!.inputRequests!);
            assert.equal(wireKeys.length, toolKeys.length);
            for (const wireKey of wireKeys) {
              assert.ok(!seen.has(wireKey), `key ${wireKey} used twice`);
              seen.add(wireKey);
            }
            const answers = Object.fromEntries(wireKeys.map((wireKey) => [wireKey, { answered: wireKey }]));
            const { resume } = (await store.answerInput('t', answers, 'r'))!;
            // Each answer reaches the tool under the key it asked with, for the request it made.
            const asked = Object.fromEntries(wireKeys.map((wireKey) => [wireKey, waiting!.inputRequests![wireKey]]));
            for (const toolKey of toolKeys) {
              const wireKey = wireKeys.find((candidate) => (asked[candidate] as { asked: string }).asked === toolKey)!;
              assert.deepEqual(resume!.inputResponses[toolKey], { answered: wireKey });
            }
          }
        } finally {
          store.close(error);
        }
      },
    ),
    { seed: Number(process.env['FC_SEED'] ?? 20261126), numRuns: 200 },
  );
});
