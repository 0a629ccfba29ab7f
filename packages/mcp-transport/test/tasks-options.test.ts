// The `tasks` option of mountMcp: which tools run as tasks (`'all'`, names, a predicate), bad
// values refused when mounting, and the task ids the transport hands out (16 random bytes each).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Router } from '@mummyx/core';
import { mountMcp, type McpTasksOptions } from '@mummyx/mcp-transport';
import { rpc, startTasksServer, waitForStatus } from './helpers-tasks.js';
import { createTaskFixtureServer } from './fixtures/tasks-tools.js';

test("inline: tools 'all' makes every tool a task for a client that declared the extension, and none for one that did not", async (t) => {
  const server = await startTasksServer(t, 'inline', {
    mount: { path: '/all' },
    tasks: { tools: 'all', required: [] },
  });
  const url = `${server.url}/all`;
  const created = await rpc(url, 'tools/call', { name: 'greet', arguments: { name: 'Ada' } });
  assert.equal(created.result?.['resultType'], 'task', JSON.stringify(created));
  const task = await waitForStatus(url, created.result['taskId'] as string, ['completed', 'failed', 'cancelled']);
  assert.equal(task['status'], 'completed', JSON.stringify(task));
  assert.deepEqual((task['result'] as { content: unknown[] }).content, [{ type: 'text', text: 'Hello, Ada!' }]);
  const plain = await rpc(url, 'tools/call', { name: 'greet', arguments: { name: 'Ada' } }, { tasks: false });
  assert.equal(plain.result?.['resultType'], 'complete', JSON.stringify(plain));
  assert.equal(plain.result['taskId'], undefined);
});

test('inline: tools as a list of names makes only those tools tasks', async (t) => {
  const server = await startTasksServer(t, 'inline', {
    mount: { path: '/list' },
    tasks: { tools: ['slow_compute'], required: [] },
  });
  const url = `${server.url}/list`;
  const task = await rpc(url, 'tools/call', { name: 'slow_compute', arguments: { seconds: 0 } });
  assert.equal(task.result?.['resultType'], 'task', JSON.stringify(task));
  const plain = await rpc(url, 'tools/call', { name: 'greet', arguments: { name: 'Ada' } });
  assert.equal(plain.result?.['resultType'], 'complete', JSON.stringify(plain));
  assert.deepEqual(plain.result['content'], [{ type: 'text', text: 'Hello, Ada!' }]);
});

test('mountMcp refuses tasks options it cannot use, naming the option', () => {
  const bad: Array<[Partial<McpTasksOptions>, RegExp]> = [
    [{ tools: 'some' as never }, /tasks\.tools/],
    [{ tools: undefined }, /tasks\.tools/],
    [{ tools: 'all', required: 'failing_job' as never }, /tasks\.required/],
    [{ tools: 'all', ttlMs: 0 }, /tasks\.ttlMs/],
    [{ tools: 'all', pollIntervalMs: -1 }, /tasks\.pollIntervalMs/],
    [{ tools: 'all', maxTasks: 1.5 }, /tasks\.maxTasks/],
  ];
  for (const [tasks, message] of bad) {
    assert.throws(
      () =>
        mountMcp(new Router(), {
          createServer: (ctx) => createTaskFixtureServer(ctx, () => undefined as never),
          tasks: tasks as McpTasksOptions,
        }),
      (error: Error) => error instanceof TypeError || error instanceof RangeError,
      JSON.stringify(tasks),
    );
    assert.throws(
      () =>
        mountMcp(new Router(), {
          createServer: (ctx) => createTaskFixtureServer(ctx, () => undefined as never),
          tasks: tasks as McpTasksOptions,
        }),
      message,
    );
  }
});

test('inline: task ids are 22 base64url characters (16 random bytes), none repeated', async (t) => {
  const server = await startTasksServer(t, 'inline', { mount: { path: '/ids' } });
  const url = `${server.url}/ids`;
  const ids = new Set<string>();
  for (let i = 0; i < 64; i++) {
    const answer = await rpc(url, 'tools/call', { name: 'slow_compute', arguments: { seconds: 0 } });
    const taskId = answer.result?.['taskId'];
    assert.equal(typeof taskId, 'string', JSON.stringify(answer));
    assert.match(taskId as string, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(Buffer.from(taskId as string, 'base64url').length, 16);
    ids.add(taskId as string);
  }
  assert.equal(ids.size, 64);
  // Bits are spread: over 64 ids, every one of the 128 bit positions is set in some id and clear in another.
  const buffers = [...ids].map((id) => Buffer.from(id, 'base64url'));
  for (let bit = 0; bit < 128; bit++) {
    const set = buffers.filter((b) => (b[bit >> 3]! >> (bit & 7)) & 1).length;
    assert.ok(set > 0 && set < buffers.length, `bit ${bit} is the same in all ${buffers.length} ids`);
  }
});
