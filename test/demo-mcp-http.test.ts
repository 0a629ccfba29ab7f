import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { WebSocketClientTransport } from '@modelcontextprotocol/sdk/client/websocket.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { EventSource } from 'eventsource';
import { WebSocket as WsWebSocket } from 'ws';
import { startProgram } from './start-program.js';
import { demoCli, temporaryDir } from './stdio-exchange.js';

// Node 20 has no global WebSocket; the SDK's WebSocket client needs one.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WsWebSocket;

/** Starts `mummyx-demo` on a free port with its own data folder. */
function startDemo(t: TestContext, ...args: string[]): Promise<string> {
  return startProgram(t, demoCli, {
    args: ['--port', '0', ...args],
    env: { MUMMYX_DEMO_DATA_DIR: temporaryDir(t, 'mummyx-demo-http-') },
  });
}

async function connect(t: TestContext, transport: Transport): Promise<Client> {
  const client = new Client({ name: 'mummyx-test', version: '1.0.0' });
  await client.connect(transport);
  t.after(() => client.close());
  return client;
}

const transports: Array<[string, (url: string) => Transport]> = [
  ['Streamable HTTP', (url) => new StreamableHTTPClientTransport(new URL('/mcp', url))],
  ['legacy SSE', (url) => new SSEClientTransport(new URL('/sse', url))],
  ['WebSocket', (url) => new WebSocketClientTransport(new URL('/ws', url.replace(/^http/, 'ws')))],
];

for (const [name, transport] of transports) {
  test(`${name}: the SDK client lists the demo's tools and queries the sample database`, async (t) => {
    const url = await startDemo(t, '--threads', '1-2');
    const client = await connect(t, transport(url));
    const tools = (await client.listTools()).tools.map((tool) => tool.name);
    for (const tool of ['sql_query', 'cpu_work', 'broadcast']) assert.ok(tools.includes(tool), tools.join(', '));
    const result = await client.callTool({
      name: 'sql_query',
      arguments: { sql: 'SELECT title FROM books WHERE author_id = ? ORDER BY published', parameters: [3] },
    });
    assert.deepEqual(result.structuredContent, {
      columns: ['title'],
      rows: [['Kindred'], ['Parable of the Sower']],
      isTruncated: false,
    });
    const refused = await client.callTool({ name: 'sql_query', arguments: { sql: 'DROP TABLE books' } });
    assert.equal(refused.isError, true);
    // Tools run on a worker thread, not on the IO thread.
    const work = await client.callTool({ name: 'cpu_work', arguments: { rounds: 1_000, chunks: 1 } });
    assert.match((work.structuredContent as { thread: string }).thread, /^worker \d+$/);
  });
}

test('a blocking cpu_work in one session does not hold up a query in another', async (t) => {
  const url = await startDemo(t, '--threads', '2');
  const busy = await connect(t, new StreamableHTTPClientTransport(new URL('/mcp', url)));
  const other = await connect(t, new StreamableHTTPClientTransport(new URL('/mcp', url)));
  const order: string[] = [];
  let firstProgress: () => void = () => {};
  const started = new Promise<void>((resolve) => (firstProgress = resolve));
  const work = busy
    .callTool({ name: 'cpu_work', arguments: { rounds: 6_000_000, chunks: 4 } }, undefined, {
      onprogress: () => firstProgress(),
      timeout: 60_000,
    })
    .then((result) => {
      order.push('cpu_work');
      return result;
    });
  await started; // the work is under way (one chunk done, three to go)
  const query = await other.callTool({ name: 'sql_query', arguments: { sql: 'SELECT count(*) FROM authors' } });
  order.push('sql_query');
  assert.deepEqual((query.structuredContent as { rows: unknown }).rows, [[8]]);
  const result = (await work) as CallToolResult;
  assert.equal(result.isError, undefined);
  t.diagnostic(`cpu_work took ${(result.structuredContent as { elapsedMs: number }).elapsedMs} ms`);
  assert.deepEqual(order, ['sql_query', 'cpu_work']);
});

test('sessions, tool calls and broadcasts appear on the activity stream', async (t) => {
  const url = await startDemo(t, '--threads', '1-2');
  const events = new EventSource(`${url}/events`);
  t.after(() => events.close());
  const seen: Array<{ type: string; data: Record<string, unknown> }> = [];
  for (const type of ['session', 'tool', 'broadcast']) {
    events.addEventListener(type, (event) =>
      seen.push({ type, data: JSON.parse(String(event.data)) as Record<string, unknown> }),
    );
  }
  await new Promise((resolve) => events.addEventListener('hello', resolve));
  const client = await connect(t, new StreamableHTTPClientTransport(new URL('/mcp', url)));
  await client.callTool({ name: 'broadcast', arguments: { message: 'hello, page' } });
  const deadline = Date.now() + 5_000;
  const has = (type: string, match: (data: Record<string, unknown>) => boolean): boolean =>
    seen.some((event) => event.type === type && match(event.data));
  while (
    !(has('broadcast', () => true) && has('tool', (data) => data['state'] === 'finished')) &&
    Date.now() < deadline
  ) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.ok(
    has('session', (data) => data['state'] === 'open' && data['transport'] === 'streamable-http'),
    JSON.stringify(seen),
  );
  assert.ok(
    has('tool', (data) => data['tool'] === 'broadcast' && data['state'] === 'started'),
    JSON.stringify(seen),
  );
  assert.ok(
    has('tool', (data) => data['tool'] === 'broadcast' && data['state'] === 'finished'),
    JSON.stringify(seen),
  );
  assert.ok(
    has('broadcast', (data) => data['message'] === 'hello, page'),
    JSON.stringify(seen),
  );
});

interface ActivityState {
  sessions: Array<{ id: string; transport: string }>;
  running: Array<{ session: string; tool: string }>;
  recent: Array<{ event: string; data: string; at: string }>;
}

/** Opens `/events` and returns its first event, which must be `state`, and what followed it. */
async function firstEvents(t: TestContext, url: string): Promise<{ state: ActivityState; order: string[] }> {
  const events = new EventSource(`${url}/events`);
  t.after(() => events.close());
  const order: string[] = [];
  const state = new Promise<ActivityState>((resolve) =>
    events.addEventListener('state', (event) => {
      order.push('state');
      resolve(JSON.parse(String(event.data)) as ActivityState);
    }),
  );
  await new Promise((resolve) =>
    events.addEventListener('hello', (event) => {
      order.push('hello');
      resolve(event);
    }),
  );
  return { state: await state, order };
}

test('a page that connects later is told first which sessions are open, which calls run, and the last events', async (t) => {
  const url = await startDemo(t, '--threads', '1-2');
  const first = await connect(t, new StreamableHTTPClientTransport(new URL('/mcp', url)));
  const second = await connect(t, new SSEClientTransport(new URL('/sse', url)));
  await first.callTool({ name: 'broadcast', arguments: { message: 'before the page' } });
  await second.callTool({ name: 'sql_query', arguments: { sql: 'SELECT count(*) FROM books' } });
  // A call still running when the page connects: cpu_work reports progress after each chunk.
  let resolveProgress: () => void = () => {};
  const progressed = new Promise<void>((resolve) => (resolveProgress = resolve));
  const running = first.callTool({ name: 'cpu_work', arguments: { rounds: 2_000_000, chunks: 40 } }, undefined, {
    onprogress: () => resolveProgress(),
  });
  await progressed;

  const { state, order } = await firstEvents(t, url);
  assert.deepEqual(order, ['state', 'hello']);
  assert.deepEqual(state.sessions.map((session) => session.transport).sort(), ['sse', 'streamable-http']);
  assert.deepEqual(
    state.running.map((call) => call.tool),
    ['cpu_work'],
  );
  const recent = state.recent.map((record) => ({ event: record.event, ...(JSON.parse(record.data) as object) }));
  const describe = JSON.stringify(recent);
  assert.ok(
    recent.some(
      (event) => event.event === 'broadcast' && (event as { message?: string }).message === 'before the page',
    ),
    describe,
  );
  for (const tool of ['broadcast', 'sql_query']) {
    assert.ok(
      recent.some(
        (event) =>
          event.event === 'tool' &&
          (event as { tool?: string }).tool === tool &&
          (event as { state?: string }).state === 'finished',
      ),
      describe,
    );
  }
  await running;

  // A session that ended is no longer listed; the finished call no longer runs.
  await second.close();
  const deadline = Date.now() + 5_000;
  let later = await firstEvents(t, url);
  while (later.state.sessions.length !== 1 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    later = await firstEvents(t, url);
  }
  assert.deepEqual(
    later.state.sessions.map((session) => session.transport),
    ['streamable-http'],
  );
  assert.deepEqual(later.state.running, []);
});

test('--conformance serves the conformance fixtures over HTTP', async (t) => {
  const url = await startDemo(t, '--conformance');
  const client = await connect(t, new StreamableHTTPClientTransport(new URL('/mcp', url)));
  const progress: number[] = [];
  const result = await client.callTool({ name: 'test_tool_with_progress', arguments: {} }, undefined, {
    onprogress: (notification) => progress.push(notification.progress),
  });
  // The SDK client may drop the last notification when it arrives with the response (it handles
  // notifications a microtask later); 0 and 50 come 20 ms before it.
  assert.deepEqual(progress, [0, 50, 100].slice(0, Math.max(progress.length, 2)));
  assert.equal(result.isError, undefined);
  const text = await client.readResource({ uri: 'test://static-text' });
  assert.equal(text.contents[0]?.mimeType, 'text/plain');
});
