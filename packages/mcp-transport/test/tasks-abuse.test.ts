// The Tasks extension under misuse: unknown, malformed, foreign and expired task ids; polls faster
// than pollIntervalMs; more tasks than a principal or the server may hold; bad listen filters and
// input answers; a mount closing, and a worker stopping, while tasks run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Request } from '@mummyx/core';
import type { TaskRecord } from '@mummyx/mcp-transport';
import {
  envelope,
  eventually,
  modernVersion,
  rpc,
  startTasksServer,
  waitForStatus,
  type TasksMode,
} from './helpers-tasks.js';

// The threaded server (the app module) keeps its tasks 20 s: long enough for the input rounds of
// the listen-filter test on a busy machine (10 s at a load average of 16), short enough for the
// expiry test to wait for.
process.env['MCP_TASKS_TTL_MS'] = '20000';

const tokens: Record<string, { clientId: string }> = {
  alice: { clientId: 'app' },
  'alice-refreshed': { clientId: 'app' },
  bob: { clientId: 'app' },
};

/** `Authorization: Bearer <name>` for the names above; anything else is refused (401). */
function authenticate(request: Request) {
  const token = /^Bearer (.+)$/.exec(request.headers.get('authorization') ?? '')?.[1];
  const known = token === undefined ? undefined : tokens[token];
  return known === undefined ? undefined : { token: token!, clientId: known.clientId, scopes: [] };
}

async function createTask(
  url: string,
  args: Record<string, unknown> = { seconds: 30 },
  token?: string,
  name = 'slow_compute',
): Promise<string> {
  const answer = await rpc(url, 'tools/call', { name, arguments: args }, { token });
  const taskId = answer.result?.['taskId'];
  assert.equal(typeof taskId, 'string', JSON.stringify(answer));
  return taskId as string;
}

for (const mode of ['inline', 'threaded'] as TasksMode[]) {
  test(`${mode}: unknown and malformed task ids answer -32602 on tasks/get, tasks/update and tasks/cancel`, async (t) => {
    const { url } = await startTasksServer(t, mode);
    for (const method of ['tasks/get', 'tasks/update', 'tasks/cancel']) {
      const extra = method === 'tasks/update' ? { inputResponses: {} } : {};
      for (const taskId of ['AAAAAAAAAAAAAAAAAAAAAA', 'nope', '', '../../etc', 'x'.repeat(5_000)]) {
        const answer = await rpc(url, method, { taskId, ...extra });
        assert.equal(answer.error?.code, -32602, `${method} ${taskId.slice(0, 20)}: ${JSON.stringify(answer)}`);
      }
      for (const taskId of [42, null, { id: 'x' }]) {
        const answer = await rpc(url, method, { taskId, ...extra });
        assert.equal(answer.error?.code, -32602, `${method} ${JSON.stringify(taskId)}: ${JSON.stringify(answer)}`);
      }
    }
    // The server still serves.
    const taskId = await createTask(url, { seconds: 0 });
    assert.equal((await waitForStatus(url, taskId, ['completed']))['status'], 'completed');
  });

  test(`${mode}: listen filters that name tasks badly are refused; input answers of the wrong shape are ignored`, async (t) => {
    const { url } = await startTasksServer(t, mode);
    const listen = (notifications: unknown, tasks = true) =>
      rpc(url, 'subscriptions/listen', { notifications }, { tasks });
    assert.equal((await listen({ taskIds: 'abc' })).error?.code, -32602);
    assert.equal((await listen({ taskIds: [1, 2] })).error?.code, -32602);
    assert.equal((await listen({ taskIds: Array.from({ length: 101 }, (_, i) => `t${i}`) })).error?.code, -32602);
    assert.equal((await listen({ taskIds: [], toolsListChanged: 'yes' })).error?.code, -32602);
    const undeclared = await listen({ taskIds: ['x'] }, false);
    assert.equal(undeclared.status, 400);
    assert.equal(undeclared.error?.code, -32021);
    assert.deepEqual(undeclared.error?.data, {
      requiredCapabilities: { extensions: { 'io.modelcontextprotocol/tasks': {} } },
    });

    const taskId = await createTask(url, { filename: 'x' }, undefined, 'confirm_delete');
    const waiting = await waitForStatus(url, taskId, ['input_required']);
    const key = Object.keys(waiting['inputRequests'] as object)[0]!;
    for (const inputResponses of [null, 'yes', [1], { [key]: 'not an object' }, { unknown: { action: 'accept' } }]) {
      const ack = await rpc(url, 'tasks/update', { taskId, inputResponses });
      assert.ok(ack.result !== undefined || ack.error?.code === -32602, JSON.stringify(ack));
      assert.equal((await rpc(url, 'tasks/get', { taskId })).result?.['status'], 'input_required');
    }
    const ack = await rpc(url, 'tasks/update', {
      taskId,
      inputResponses: { [key]: { action: 'accept', content: { confirm: false } } },
    });
    assert.deepEqual(ack.result?.['resultType'], 'complete');
    const done = await waitForStatus(url, taskId, ['completed', 'failed']);
    assert.deepEqual(done['result'], { resultType: 'complete', content: [{ type: 'text', text: 'Kept x' }] });
  });
}

test('threaded: an expired task answers -32602 on tasks/get, tasks/update and tasks/cancel', async (t) => {
  const { url } = await startTasksServer(t, 'threaded');
  const taskId = await createTask(url, { seconds: 0 });
  const done = await waitForStatus(url, taskId, ['completed']);
  assert.equal(done['ttlMs'], 20_000);
  // Polled as a client should: at the task's pollIntervalMs, or later when told to (-32000 with
  // retryAfterMs past the poll budget).
  let answer = await rpc(url, 'tasks/get', { taskId });
  while (answer.result !== undefined || answer.error?.code === -32000) {
    const retryAfterMs = (answer.error?.data as { retryAfterMs?: number } | undefined)?.retryAfterMs;
    const pollIntervalMs = answer.result?.['pollIntervalMs'];
    await new Promise((resolve) =>
      setTimeout(resolve, retryAfterMs ?? (typeof pollIntervalMs === 'number' ? pollIntervalMs : 1_000)),
    );
    answer = await rpc(url, 'tasks/get', { taskId });
  }
  assert.equal(answer.error?.code, -32602);
  assert.equal((await rpc(url, 'tasks/update', { taskId, inputResponses: {} })).error?.code, -32602);
  assert.equal((await rpc(url, 'tasks/cancel', { taskId })).error?.code, -32602);
});

test("inline: another principal's task is unknown to it: -32602 everywhere, and its listen carries nothing of it", async (t) => {
  const { url } = await startTasksServer(t, 'inline', { mount: { authenticate } });
  const taskId = await createTask(url, { seconds: 30 }, 'alice');
  for (const token of ['bob', 'alice-refreshed']) {
    assert.equal((await rpc(url, 'tasks/get', { taskId }, { token })).error?.code, -32602, token);
    assert.equal(
      (await rpc(url, 'tasks/update', { taskId, inputResponses: {} }, { token })).error?.code,
      -32602,
      token,
    );
    assert.equal((await rpc(url, 'tasks/cancel', { taskId }, { token })).error?.code, -32602, token);
  }
  // Without credentials: 401 before anything else.
  assert.equal((await rpc(url, 'tasks/get', { taskId })).status, 401);
  assert.equal((await rpc(url, 'tasks/get', { taskId }, { token: 'alice' })).result?.['status'], 'working');

  const response = await fetch(new URL('/mcp', url), {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      'MCP-Protocol-Version': modernVersion,
      'Mcp-Method': 'subscriptions/listen',
      Authorization: 'Bearer bob',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 'bob-listen',
      method: 'subscriptions/listen',
      params: { notifications: { taskIds: [taskId] }, _meta: envelope() },
    }),
  });
  const reader = response.body!.getReader();
  const first = new TextDecoder().decode((await reader.read()).value as Uint8Array);
  await reader.cancel();
  assert.match(first, /notifications\/subscriptions\/acknowledged/);
  assert.match(first, /"taskIds":\[\]/);

  assert.deepEqual((await rpc(url, 'tasks/cancel', { taskId }, { token: 'alice' })).result?.['resultType'], 'complete');
  assert.equal((await rpc(url, 'tasks/get', { taskId }, { token: 'alice' })).result?.['status'], 'cancelled');
});

test('inline: a principal option binds tasks to what it returns (here the clientId, across token refreshes)', async (t) => {
  const { url } = await startTasksServer(t, 'inline', {
    mount: { authenticate },
    tasks: { principal: (authInfo) => authInfo?.clientId ?? '' },
  });
  const taskId = await createTask(url, { seconds: 30 }, 'alice');
  assert.equal((await rpc(url, 'tasks/get', { taskId }, { token: 'alice-refreshed' })).result?.['status'], 'working');
  assert.deepEqual(
    (await rpc(url, 'tasks/cancel', { taskId }, { token: 'alice-refreshed' })).result?.['resultType'],
    'complete',
  );
});

test('inline: more tasks than a principal, or the server, may hold get -32000 naming the limit; expired ones free their place', async (t) => {
  // A path of its own: the mounts of one path in a process share their store.
  const server = await startTasksServer(t, 'inline', {
    mount: { authenticate, path: '/limits' },
    tasks: { maxTasksPerPrincipal: 2, maxTasks: 3 },
  });
  const url = `${server.url}/limits`;
  const store = server.mount.tasks!.store;
  const first = await createTask(url, { seconds: 0 }, 'alice');
  await createTask(url, { seconds: 0 }, 'alice');
  const third = await rpc(url, 'tools/call', { name: 'slow_compute', arguments: { seconds: 0 } }, { token: 'alice' });
  assert.equal(third.error?.code, -32000, JSON.stringify(third));
  assert.deepEqual(third.error?.data, { reason: 'task_limit', scope: 'principal', limit: 2 });
  assert.equal(
    third.error.message,
    'Too many tasks: this client holds 2 tasks, the most one client may; try again once some have expired',
  );
  // Another principal may still create one; then the server is full.
  await createTask(url, { seconds: 0 }, 'bob');
  const full = await rpc(url, 'tools/call', { name: 'slow_compute', arguments: { seconds: 0 } }, { token: 'bob' });
  assert.deepEqual(full.error?.data, { reason: 'task_limit', scope: 'server', limit: 3 });
  // A synchronous call is not a task: no limit applies.
  assert.equal(
    (await rpc(url, 'tools/call', { name: 'greet', arguments: { name: 'x' } }, { token: 'bob' })).result?.[
      'resultType'
    ],
    'complete',
  );
  assert.equal(await store.expire(first), true);
  await createTask(url, { seconds: 0 }, 'alice');
});

test('inline: closing the mount ends its running tasks failed, with the reason, at once', async (t) => {
  const { url, mount } = await startTasksServer(t, 'inline', { mount: { path: '/closing' } });
  const taskId = await createTask(`${url}/closing`, { seconds: 60 });
  const seen: (TaskRecord | undefined)[] = [];
  const store = mount.tasks!.store;
  store.watch(taskId, (task) => seen.push(task));
  await eventually(() => mount.tasks!.runningCount === 1, 'the run to start');
  await mount.close();
  assert.equal(mount.tasks!.runningCount, 0);
  const failed = seen.find((task) => task?.status === 'failed');
  assert.ok(failed !== undefined, JSON.stringify(seen.map((task) => task?.status)));
  assert.deepEqual(failed.error, { code: -32603, message: 'The server closed before the task finished' });
});

test('threaded: a task whose worker stops (the server closing) ends failed, with the reason', async (t) => {
  const { url, server, mount } = await startTasksServer(t, 'threaded', { server: { closeTimeoutMs: 500 } });
  const taskId = await createTask(url, { seconds: 60 });
  await waitForStatus(url, taskId, ['working']);
  const store = mount.tasks!.store;
  const ended = new Promise<TaskRecord>((resolve) => {
    store.watch(taskId, (task) => {
      if (task?.status === 'failed') resolve(task);
    });
  });
  // The pool lets the run go on for closeTimeoutMs, then stops the worker.
  await server.close();
  const failed = await ended;
  assert.deepEqual(failed.error, {
    code: -32603,
    message: 'The worker thread running the task stopped before it finished',
  });
});
