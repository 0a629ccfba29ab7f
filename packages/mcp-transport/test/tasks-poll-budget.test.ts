// Polling faster than pollIntervalMs: each task has a budget of polls (a burst, then twice the
// suggested rate) kept where the task is, so polls spread over every worker draw on one budget. A
// poll over budget answers -32000 with retryAfterMs; cancelling is not a poll. The suggested
// interval is long here, so no poll is refunded while a test runs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rpc, startTasksServer, type TasksMode } from './helpers-tasks.js';

const pollIntervalMs = 60_000;
// The threaded server (the app module) reads it when it loads.
process.env['MCP_TASKS_POLL_INTERVAL_MS'] = String(pollIntervalMs);

for (const mode of ['inline', 'threaded'] as TasksMode[]) {
  test(`${mode}: a poll over the task's budget answers -32000 with retryAfterMs; other tasks and cancels are not affected`, async (t) => {
    // Inline: a burst of 3; threaded: the default burst of 10, polls served by any of four workers.
    const burst = mode === 'inline' ? 3 : 10;
    const { url } = await startTasksServer(t, mode, { tasks: { pollBurst: burst, pollIntervalMs } });
    const create = async () => {
      const answer = await rpc(url, 'tools/call', { name: 'slow_compute', arguments: { seconds: 60 } });
      assert.equal(answer.result?.['pollIntervalMs'], pollIntervalMs);
      return answer.result?.['taskId'] as string;
    };
    const taskId = await create();
    const polls = await Promise.all(Array.from({ length: burst }, () => rpc(url, 'tasks/get', { taskId })));
    for (const poll of polls) assert.equal(poll.result?.['status'], 'working', JSON.stringify(poll));
    const refused = await rpc(url, 'tasks/get', { taskId });
    assert.equal(refused.error?.code, -32000, JSON.stringify(refused));
    assert.equal(refused.error?.data?.['reason'], 'poll_rate');
    assert.match(refused.error.message, /poll this task every 60000 ms/);
    const retryAfterMs = refused.error?.data?.['retryAfterMs'] as number;
    assert.ok(retryAfterMs > 0 && retryAfterMs <= pollIntervalMs / 2, `retryAfterMs ${retryAfterMs}`);
    // Another task has its own budget.
    const other = await create();
    assert.equal((await rpc(url, 'tasks/get', { taskId: other })).result?.['status'], 'working');
    // Cancelling is not a poll.
    for (const id of [taskId, other]) {
      assert.equal((await rpc(url, 'tasks/cancel', { taskId: id })).result?.['resultType'], 'complete');
    }
  });
}

test('inline: pollBurst false lets a client poll as fast as it likes', async (t) => {
  const { url } = await startTasksServer(t, 'inline', { tasks: { pollBurst: false, pollIntervalMs } });
  const answer = await rpc(url, 'tools/call', { name: 'slow_compute', arguments: { seconds: 60 } });
  const taskId = answer.result?.['taskId'] as string;
  const polls = await Promise.all(Array.from({ length: 50 }, () => rpc(url, 'tasks/get', { taskId })));
  for (const poll of polls) assert.equal(poll.result?.['status'], 'working', JSON.stringify(poll));
  await rpc(url, 'tasks/cancel', { taskId });
});
