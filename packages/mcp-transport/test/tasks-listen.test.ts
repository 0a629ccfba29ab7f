// notifications/tasks on subscriptions/listen: a client that lists taskIds hears each of its tasks'
// states (the current one first, then every change, as full DetailedTasks stamped with the
// subscriptionId), alongside the change notifications it asked for; ids it may not see are left out
// of the acknowledgement. Threaded, the stream is relayed from the worker that served it, the task
// runs on a worker, and the changes reach the stream from the store on the IO thread.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { envelope, modernVersion, rpc, startTasksServer, type TasksMode } from './helpers-tasks.js';

type Message = { method?: string; id?: unknown; params?: Record<string, unknown>; result?: Record<string, unknown> };

/** A listen stream read message by message. */
async function openListen(url: string, id: string, notifications: Record<string, unknown>) {
  const controller = new AbortController();
  const response = await fetch(new URL('/mcp', url), {
    method: 'POST',
    signal: controller.signal,
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      'MCP-Protocol-Version': modernVersion,
      'Mcp-Method': 'subscriptions/listen',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id,
      method: 'subscriptions/listen',
      params: { notifications, _meta: envelope() },
    }),
  });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const messages: Message[] = [];
  let buffer = '';
  return {
    messages,
    /** Reads until a message matches; resolves with it. */
    async next(predicate: (message: Message) => boolean, timeoutMs = 20_000): Promise<Message> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = messages.find(predicate);
        if (found !== undefined) return found;
        if (Date.now() > deadline) throw new Error(`no such message in ${JSON.stringify(messages)}`);
        const read = await reader.read();
        if (read.done) throw new Error(`the stream ended: ${JSON.stringify(messages)}`);
        buffer += decoder.decode(read.value as Uint8Array, { stream: true });
        const events = buffer.split('\n\n');
        buffer = events.pop()!;
        for (const event of events) {
          const data = event
            .split('\n')
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5).trim())
            .join('\n');
          if (data !== '') messages.push(JSON.parse(data) as Message);
        }
      }
    },
    close: () => {
      controller.abort();
      void reader.cancel().catch(() => {});
    },
  };
}

for (const mode of ['inline', 'threaded'] as TasksMode[]) {
  test(`${mode}: a listen stream naming a task carries its states as notifications/tasks, with the changes it asked for`, async (t) => {
    const { url, mount } = await startTasksServer(t, mode);
    const created = await rpc(url, 'tools/call', {
      name: 'slow_compute',
      arguments: { seconds: 1, label: 'listened' },
    });
    const taskId = created.result?.['taskId'] as string;
    assert.equal(typeof taskId, 'string');
    const listen = await openListen(url, `listen-${mode}`, {
      taskIds: [taskId, 'not-a-task'],
      toolsListChanged: true,
    });
    t.after(() => listen.close());
    const subscription = { 'io.modelcontextprotocol/subscriptionId': `listen-${mode}` };
    const ack = await listen.next((message) => message.method === 'notifications/subscriptions/acknowledged');
    assert.deepEqual(ack.params, { notifications: { toolsListChanged: true, taskIds: [taskId] }, _meta: subscription });

    const completed = await listen.next(
      (message) => message.method === 'notifications/tasks' && message.params?.['status'] === 'completed',
    );
    assert.equal(completed.params?.['taskId'], taskId);
    assert.deepEqual(completed.params?.['_meta'], subscription);
    assert.equal(completed.params?.['ttlMs'], 3_600_000);
    const result = completed.params?.['result'] as { content: { text: string }[] };
    assert.match(result.content[0]!.text, /^Computed listened in 1 s on thread \d+$/);
    // The states came in order: working (the current one first, then progress), then completed.
    const states = listen.messages.filter((message) => message.method === 'notifications/tasks');
    assert.equal(states[0]!.params?.['status'], 'working');
    assert.ok(states.slice(0, -1).every((message) => message.params?.['status'] === 'working'));
    assert.ok(
      states.some((message) => /^step \d+\/10 on thread \d+$/.test(String(message.params?.['statusMessage']))),
      'progress reached the stream',
    );
    if (mode === 'threaded') assert.doesNotMatch(result.content[0]!.text, /on thread 0$/, 'the task ran on a worker');

    // The rest of the filter is served as usual: a tool list change raised on the mount reaches the stream.
    mount.notify.toolsChanged();
    const changed = await listen.next((message) => message.method === 'notifications/tools/list_changed');
    assert.deepEqual(changed.params, { _meta: subscription });
  });
}

test('inline: a listen stream on a task that is cancelled hears the cancellation; closing the stream leaves the server serving', async (t) => {
  const { url } = await startTasksServer(t, 'inline');
  const created = await rpc(url, 'tools/call', { name: 'slow_compute', arguments: { seconds: 60 } });
  const taskId = created.result?.['taskId'] as string;
  const listen = await openListen(url, 'listen-cancel', { taskIds: [taskId] });
  await listen.next((message) => message.method === 'notifications/tasks');
  assert.equal((await rpc(url, 'tasks/cancel', { taskId })).result?.['resultType'], 'complete');
  const cancelled = await listen.next(
    (message) => message.method === 'notifications/tasks' && message.params?.['status'] === 'cancelled',
  );
  assert.equal(cancelled.params?.['statusMessage'], 'Cancelled by the client');
  listen.close();
  assert.equal(
    (await rpc(url, 'tools/call', { name: 'greet', arguments: { name: 'x' } })).result?.['resultType'],
    'complete',
  );
});
