// The official client side of the Tasks extension (@modelcontextprotocol/ext-tasks on an SDK 2.x
// Client pinned to 2026-07-28) against the task fixture server: a 3 s task on a pool of four
// workers, polled from other workers than the one running it; cancelled mid-run (the tool's
// signal aborts on its worker); input asked during the task and answered through tasks/update;
// and an expired task answering -32602.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JsonRpcResponseError, type TaskExecutionEvent } from '@modelcontextprotocol/ext-tasks/client';
import {
  attributeServers,
  connectTaskClient,
  eventually,
  listenToAnnouncements,
  startTasksServer,
  threadNamed,
  type AttributedRequest,
  type TasksMode,
} from './helpers-tasks.js';

// The fixture servers say, from every thread, which thread made each server (one per request).
process.env['MCP_TASKS_ANNOUNCE'] = '1';

function textOf(result: unknown): string {
  const content = (result as { content?: { text?: string }[] }).content;
  return content?.[0]?.text ?? '';
}

test('threaded: a 3 s task on a pool of four completes; every poll while it runs is served by another worker', async (t) => {
  const heard = listenToAnnouncements(t);
  const { url } = await startTasksServer(t, 'threaded');
  const label = 'pool';
  const started = () => heard.find((a) => a.kind === 'started' && a.label === label);
  // Each poll waits until the tool has started (the run's server was announced before, from the
  // same thread), then goes alone: the server announced meanwhile is the poll's own.
  const polls: AttributedRequest[] = [];
  const { session } = await connectTaskClient(t, url, {
    onDispatch: attributeServers(heard, () => started() !== undefined, polls),
  });
  const execution = await session.callTool('slow_compute', { seconds: 3, label });
  assert.equal(execution.kind, 'task');
  const messages: string[] = [];
  const { outcome } = await execution.settle({
    onEvent: (event: TaskExecutionEvent<unknown>) => {
      if (event.type === 'task' && event.task.statusMessage !== undefined) messages.push(event.task.statusMessage);
    },
  });
  assert.equal(outcome.status, 'completed');
  const runner = started()!.threadId;
  assert.ok(runner > 0, 'the tool ran on a worker');
  assert.equal(threadNamed(textOf(outcome.status === 'completed' ? outcome.result : undefined)), runner);
  assert.ok(messages.length > 0, 'progress reached the task as statusMessage');
  for (const message of messages) assert.equal(threadNamed(message), runner, message);
  const whileRunning = polls.filter((poll) => poll.status === 'working');
  assert.ok(whileRunning.length >= 2, `polls while it ran: ${JSON.stringify(polls)}`);
  for (const poll of whileRunning) {
    assert.equal(poll.threads.length, 1, JSON.stringify(poll));
    assert.notEqual(poll.threads[0], runner, `a poll served by the runner: ${JSON.stringify(polls)}`);
    assert.notEqual(poll.threads[0], 0, 'polls are served by workers');
  }
});

for (const mode of ['inline', 'threaded'] as TasksMode[]) {
  test(`${mode}: cancelling mid-run ends the task cancelled and aborts the tool where it runs`, async (t) => {
    const heard = listenToAnnouncements(t);
    const { url, mount } = await startTasksServer(t, mode);
    const label = `cancel-${mode}`;
    const started = () => heard.find((a) => a.kind === 'started' && a.label === label);
    const requests: AttributedRequest[] = [];
    const { session, sent } = await connectTaskClient(t, url, {
      onDispatch: attributeServers(heard, () => started() !== undefined, requests),
    });
    const execution = await session.callTool('slow_compute', { seconds: 30, label });
    assert.equal(execution.kind, 'task');
    let progressed = false;
    for await (const event of execution.updates()) {
      progressed = event.type === 'task' && threadNamed(event.task.statusMessage) !== undefined;
      if (progressed) break;
    }
    assert.ok(progressed, 'the task reported progress');
    const runner = started()!.threadId;
    await execution.cancel();
    const outcome = await execution.result();
    assert.equal(outcome.status, 'cancelled');
    assert.ok(sent.includes('tasks/cancel'));
    await eventually(
      () => heard.some((a) => a.kind === 'aborted' && a.label === label && a.threadId === runner),
      'the tool seeing its signal abort on its thread',
    );
    const snapshot = await session.task(execution.handle.taskId).snapshot();
    assert.equal(snapshot.status, 'cancelled');
    if (mode === 'threaded') {
      assert.ok(runner > 0);
      const cancel = requests.find((request) => request.method === 'tasks/cancel');
      assert.deepEqual(cancel?.threads.length, 1, JSON.stringify(requests));
      assert.notEqual(cancel.threads[0], runner, 'the cancel was served by another worker than the runner');
      assert.notEqual(cancel.threads[0], 0);
    } else {
      await eventually(() => mount.tasks!.runningCount === 0, 'the run to end');
    }
  });

  test(`${mode}: input asked during the task is answered through tasks/update, twice under distinct keys`, async (t) => {
    const { url } = await startTasksServer(t, mode);
    const asked: { message: unknown; delivery: string }[] = [];
    const { session, sent } = await connectTaskClient(t, url, {
      onInputRequest: async (request, context) => {
        await Promise.resolve();
        const message = (request.params as { message?: unknown } | undefined)?.message;
        asked.push({ message, delivery: context.delivery });
        if (request.kind !== 'elicitation') throw new Error(`unexpected ${request.kind}`);
        if (message === 'Your nickname?') return { action: 'accept', content: { name: 'Ace' } } as never;
        return { action: 'accept', content: { confirm: true, name: 'Ada' } } as never;
      },
    });
    const confirm = await session.callTool('confirm_delete', { filename: 'report.txt' });
    assert.equal(confirm.kind, 'task');
    const confirmed = await confirm.result();
    assert.equal(confirmed.status, 'completed');
    assert.equal(textOf(confirmed.status === 'completed' ? confirmed.result : undefined), 'Deleted report.txt');
    assert.deepEqual(asked, [{ message: 'Delete report.txt?', delivery: 'task-update' }]);
    assert.ok(sent.includes('tasks/update'));

    // Two rounds, the tool asking under the same key both times: the task surfaces the second under a new key.
    asked.length = 0;
    const named = await session.callTool('ask_name', {});
    const outcome = await named.result();
    assert.equal(outcome.status, 'completed');
    assert.match(
      textOf(outcome.status === 'completed' ? outcome.result : undefined),
      /^Ada a\.k\.a\. Ace, on thread \d+$/,
    );
    assert.deepEqual(
      asked.map((entry) => entry.message),
      ['Your name?', 'Your nickname?'],
    );
  });
}

test('inline: a task past its ttlMs is gone: tasks/get answers -32602', async (t) => {
  const { url, mount } = await startTasksServer(t, 'inline', { tasks: { ttlMs: 1_000, pollIntervalMs: 50 } });
  const { session } = await connectTaskClient(t, url);
  const execution = await session.callTool('slow_compute', { seconds: 0, label: 'short-lived' });
  assert.equal(execution.kind, 'task');
  const taskId = execution.handle.taskId;
  const outcome = await execution.result();
  assert.equal(outcome.status, 'completed');
  assert.equal((await session.task(taskId).snapshot()).status, 'completed');
  let gone = false;
  while (!gone) {
    gone = (await mount.tasks!.store.get(taskId)) === undefined;
    if (!gone) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await assert.rejects(session.task(taskId).snapshot(), (error: unknown) => {
    assert.ok(error instanceof JsonRpcResponseError, String(error));
    assert.equal(error.code, -32602);
    return true;
  });
});
