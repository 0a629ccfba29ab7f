// The demo on both protocol eras, with real clients: the 2025 SDK client (sessions; 1.x) and the
// SDK 2.x client pinned to 2026-07-28 (stateless requests), over stdio and over HTTP with worker
// threads. What the 2026 protocol adds: order_book asks for a confirmation through an
// input_required result (on 2025 sessions, the SDK turns it into an elicitation request),
// broadcast updates a resource that listen streams and 2025 subscribers hear of, and the lists
// carry caching hints.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpTransportV2 } from '@modelcontextprotocol/client';
import { StdioClientTransport as StdioTransportV2 } from '@modelcontextprotocol/client/stdio';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  ElicitRequestSchema,
  ResourceUpdatedNotificationSchema,
  type CallToolResult,
  type ElicitResult,
} from '@modelcontextprotocol/sdk/types.js';
import { startProgram } from './start-program.js';
import { demoCli, temporaryDir } from './stdio-exchange.js';

const latestBroadcast = 'demo://broadcasts/latest';
const clientInfo = { name: 'mummyx-test', version: '1.0.0' };

/** What the user answers to a form, and the messages they were shown. */
interface User {
  answer: ElicitResult;
  asked: string[];
}

function user(answer: ElicitResult): User {
  return { answer, asked: [] };
}

function textOf(result: unknown): string {
  return (result as CallToolResult).content.map((block) => (block.type === 'text' ? block.text : '')).join('\n');
}

/** `mummyx-demo` over HTTP on a free port with its own data folder. */
function startDemo(t: TestContext, ...args: string[]): Promise<string> {
  return startProgram(t, demoCli, {
    args: ['--port', '0', ...args],
    env: { MUMMYX_DEMO_DATA_DIR: temporaryDir(t, 'mummyx-demo-eras-') },
  });
}

function stdioParameters(dataDir: string): {
  command: string;
  args: string[];
  env: Record<string, string>;
  stderr: 'ignore';
} {
  return {
    command: process.execPath,
    args: [demoCli, '--stdio'],
    env: { PATH: process.env['PATH'] ?? '', MUMMYX_DEMO_DATA_DIR: dataDir },
    stderr: 'ignore',
  };
}

/** A 2025 client (SDK 1.x, initialize + session); with `someone`, it can show forms. */
async function connect2025(t: TestContext, transport: Transport, someone?: User): Promise<Client> {
  const client = new Client(clientInfo, { capabilities: someone === undefined ? {} : { elicitation: {} } });
  if (someone !== undefined) {
    client.setRequestHandler(ElicitRequestSchema, (request) => {
      someone.asked.push(request.params.message);
      return someone.answer;
    });
  }
  await client.connect(transport);
  t.after(() => client.close());
  return client;
}

/** A 2026-07-28 client (SDK 2.x pinned: no initialize, `_meta` on every request); with `someone`, it can show forms. */
async function connect2026(
  t: TestContext,
  transport: Parameters<ClientV2['connect']>[0],
  someone?: User,
): Promise<ClientV2> {
  const client = new ClientV2(clientInfo, {
    versionNegotiation: { mode: { pin: '2026-07-28' } },
    capabilities: someone === undefined ? {} : { elicitation: { form: {} } },
  });
  if (someone !== undefined) {
    client.setRequestHandler('elicitation/create', (request) => {
      someone.asked.push(request.params.message);
      return someone.answer;
    });
  }
  await client.connect(transport);
  t.after(() => client.close());
  assert.equal(client.getNegotiatedProtocolVersion(), '2026-07-28');
  return client;
}

const order = { name: 'order_book', arguments: { bookId: 4, quantity: 2 } };
const question = 'Order 2 × Solaris (Stanisław Lem) for $23.98?';

function assertOrdered(result: unknown, status: 'ordered' | 'not ordered'): void {
  assert.equal((result as CallToolResult).isError, undefined, textOf(result));
  assert.deepEqual((result as CallToolResult).structuredContent, {
    bookId: 4,
    title: 'Solaris',
    quantity: 2,
    totalCents: 2398,
    status,
  });
}

// -- order_book: one confirmation, whichever era asks.

test('stdio, 2026-07-28: order_book asks for a confirmation (input_required) and orders once it is given', async (t) => {
  const dataDir = temporaryDir(t, 'mummyx-demo-eras-');
  const someone = user({ action: 'accept', content: { confirm: true } });
  const client = await connect2026(t, new StdioTransportV2(stdioParameters(dataDir)), someone);
  const result = await client.callTool(order);
  assertOrdered(result, 'ordered');
  assert.deepEqual(someone.asked, [question]);
  assert.match(textOf(result), /^Ordered 2 × Solaris \(Stanisław Lem\) for \$23\.98\./);
});

test('stdio, 2025: the SDK asks the same confirmation with an elicitation request; declining orders nothing', async (t) => {
  const dataDir = temporaryDir(t, 'mummyx-demo-eras-');
  const someone = user({ action: 'decline' });
  const client = await connect2025(t, new StdioClientTransport(stdioParameters(dataDir)), someone);
  const result = await client.callTool(order);
  assertOrdered(result, 'not ordered');
  assert.deepEqual(someone.asked, [question]);
});

test('order_book tells a client that cannot show forms why it cannot order, on both eras', async (t) => {
  const dataDir = temporaryDir(t, 'mummyx-demo-eras-');
  const clients = [
    await connect2025(t, new StdioClientTransport(stdioParameters(dataDir))),
    await connect2026(t, new StdioTransportV2(stdioParameters(dataDir))),
  ];
  for (const client of clients) {
    const result = (await client.callTool(order)) as CallToolResult;
    assert.equal(result.isError, true);
    assert.match(textOf(result), /cannot show a form \(elicitation\)/);
  }
  const unknown = (await clients[1]!.callTool({ name: 'order_book', arguments: { bookId: 999 } })) as CallToolResult;
  assert.equal(unknown.isError, true);
  assert.match(textOf(unknown), /no book with id 999/);
});

test('HTTP, 4 workers: order_book completes on both eras; a 2025 session answers on its POST stream', async (t) => {
  const url = await startDemo(t, '--threads', '4');
  const modern = user({ action: 'accept', content: { confirm: true } });
  const client2026 = await connect2026(t, new HttpTransportV2(new URL('/mcp', url)), modern);
  assertOrdered(await client2026.callTool(order), 'ordered');
  assert.deepEqual(modern.asked, [question]);
  const legacy = user({ action: 'accept', content: { confirm: true } });
  const client2025 = await connect2025(t, new StreamableHTTPClientTransport(new URL('/mcp', url)), legacy);
  assertOrdered(await client2025.callTool(order), 'ordered');
  assert.deepEqual(legacy.asked, [question]);
});

// -- order_book's requestState on the wire (2026-07-28, raw HTTP).

interface JsonRpcReply {
  id?: unknown;
  result?: {
    resultType?: string;
    requestState?: string;
    inputRequests?: Record<string, { method: string; params: { message: string } }>;
    isError?: boolean;
    content?: Array<{ type: string; text?: string }>;
    structuredContent?: Record<string, unknown>;
  };
  error?: { code: number; message: string; data?: unknown };
}

let nextId = 1;

/** One 2026-07-28 request by fetch: headers that match the body, and the `_meta` envelope. */
async function post2026(
  url: string,
  method: string,
  params: Record<string, unknown>,
  name?: string,
  capabilities: Record<string, unknown> = {},
): Promise<JsonRpcReply> {
  const response = await fetch(new URL('/mcp', url), {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      'MCP-Protocol-Version': '2026-07-28',
      'Mcp-Method': method,
      ...(name === undefined ? {} : { 'Mcp-Name': name }),
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: nextId++,
      method,
      params: {
        ...params,
        _meta: {
          'io.modelcontextprotocol/protocolVersion': '2026-07-28',
          'io.modelcontextprotocol/clientCapabilities': capabilities,
          'io.modelcontextprotocol/clientInfo': clientInfo,
        },
      },
    }),
  });
  assert.equal(response.headers.get('content-type'), 'application/json');
  return (await response.json()) as JsonRpcReply;
}

/** A 2026-07-28 tools/call from a client that can show forms. */
function callTool2026(url: string, name: string, params: Record<string, unknown>): Promise<JsonRpcReply> {
  return post2026(url, 'tools/call', { name, ...params }, name, { elicitation: { form: {} } });
}

test('HTTP, 4 workers: the signed requestState binds the confirmation to the order it was given for', async (t) => {
  const url = await startDemo(t, '--threads', '4');
  const first = await callTool2026(url, 'order_book', { arguments: order.arguments });
  assert.equal(first.result?.resultType, 'input_required');
  assert.equal(first.result.inputRequests?.['confirm']?.method, 'elicitation/create');
  assert.equal(first.result.inputRequests['confirm'].params.message, question);
  const requestState = first.result.requestState;
  assert.ok(typeof requestState === 'string' && requestState.length > 0);
  const confirmed = { confirm: { action: 'accept', content: { confirm: true } } };

  // The same confirmation for a larger order: refused by the tool.
  const otherOrder = await callTool2026(url, 'order_book', {
    arguments: { bookId: 4, quantity: 20 },
    inputResponses: confirmed,
    requestState,
  });
  assert.equal(otherOrder.result?.isError, true);
  assert.match(otherOrder.result.content?.[0]?.text ?? '', /confirmation was given for another order/);

  // A state edited by the client: refused before the tool runs.
  const [version, body, mac] = requestState.split('.');
  const payload = JSON.parse(Buffer.from(body!, 'base64url').toString('utf8')) as { p: { totalCents: number } };
  payload.p.totalCents = 1;
  const forged = [version, Buffer.from(JSON.stringify(payload)).toString('base64url'), mac].join('.');
  const tampered = await callTool2026(url, 'order_book', {
    arguments: order.arguments,
    inputResponses: confirmed,
    requestState: forged,
  });
  assert.equal(tampered.error?.code, -32602);
  assert.equal(tampered.error.message, 'Invalid or expired requestState');

  // The retry as issued, on whichever worker takes it: ordered.
  const retried = await callTool2026(url, 'order_book', {
    arguments: order.arguments,
    inputResponses: confirmed,
    requestState,
  });
  assert.equal(retried.result?.resultType, 'complete');
  assert.equal(retried.result.structuredContent?.['status'], 'ordered');
});

// -- broadcast: a resource update that listen streams and 2025 subscribers hear of.

test('stdio: broadcast updates demo://broadcasts/latest and tells a 2026 listen stream', async (t) => {
  const dataDir = temporaryDir(t, 'mummyx-demo-eras-');
  const client = await connect2026(t, new StdioTransportV2(stdioParameters(dataDir)));
  const before = await client.readResource({ uri: latestBroadcast });
  assert.equal((before.contents[0] as { text: string }).text, 'null');
  const updates: string[] = [];
  client.setNotificationHandler('notifications/resources/updated', (notification) => {
    updates.push(notification.params.uri);
  });
  const subscription = await client.listen({ resourceSubscriptions: [latestBroadcast] });
  t.after(() => subscription.close());
  await client.callTool({ name: 'broadcast', arguments: { message: 'over stdio' } });
  await waitFor(() => updates.length > 0);
  assert.deepEqual(updates, [latestBroadcast]);
  const after = await client.readResource({ uri: latestBroadcast });
  assert.equal((JSON.parse((after.contents[0] as { text: string }).text) as { message: string }).message, 'over stdio');
});

test('HTTP, 4 workers: a broadcast from one client reaches a 2026 listen stream and a 2025 subscriber', async (t) => {
  const url = await startDemo(t, '--threads', '4');
  const listener = await connect2026(t, new HttpTransportV2(new URL('/mcp', url)));
  const heard2026: string[] = [];
  listener.setNotificationHandler('notifications/resources/updated', (notification) => {
    heard2026.push(notification.params.uri);
  });
  const subscription = await listener.listen({ resourceSubscriptions: [latestBroadcast] });
  t.after(() => subscription.close());

  // The 2025 session hears of it on its standalone GET stream, which the client opens after
  // initialize: note when the server has answered that GET.
  let isGetStreamOpen = false;
  const subscriber = await connect2025(
    t,
    new StreamableHTTPClientTransport(new URL('/mcp', url), {
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        if (init?.method === 'GET' && response.ok) isGetStreamOpen = true;
        return response;
      },
    }),
  );
  const heard2025: string[] = [];
  subscriber.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
    heard2025.push(notification.params.uri);
  });
  await subscriber.subscribeResource({ uri: latestBroadcast });
  await waitFor(() => isGetStreamOpen);

  const sender = await connect2026(t, new HttpTransportV2(new URL('/mcp', url)));
  const sent = await sender.callTool({ name: 'broadcast', arguments: { message: 'to every worker' } });
  assert.match(textOf(sent), /: to every worker$/);
  await waitFor(() => heard2026.length > 0 && heard2025.length > 0);
  assert.deepEqual(heard2026, [latestBroadcast]);
  assert.deepEqual(heard2025, [latestBroadcast]);
  // Any worker reads the new value.
  for (let read = 0; read < 4; read++) {
    const contents = (await listener.readResource({ uri: latestBroadcast })).contents[0] as { text: string };
    assert.equal((JSON.parse(contents.text) as { message: string }).message, 'to every worker');
  }
});

// -- caching hints.

test('HTTP: 2026-07-28 lists carry the demo’s caching hints; the schema its own, the latest broadcast none', async (t) => {
  const url = await startDemo(t, '--threads', '2');
  const post = (method: string, params: Record<string, unknown>, name?: string): Promise<JsonRpcReply> =>
    post2026(url, method, params, name);
  const hintsOf = (reply: JsonRpcReply): unknown => {
    const result = reply.result as { ttlMs?: unknown; cacheScope?: unknown } | undefined;
    return { ttlMs: result?.ttlMs, cacheScope: result?.cacheScope };
  };
  const minute = { ttlMs: 60_000, cacheScope: 'public' };
  for (const method of [
    'tools/list',
    'prompts/list',
    'resources/list',
    'resources/templates/list',
    'server/discover',
  ]) {
    assert.deepEqual(hintsOf(await post(method, {})), minute, method);
  }
  assert.deepEqual(hintsOf(await post('resources/read', { uri: 'demo://schema' }, 'demo://schema')), {
    ttlMs: 3_600_000,
    cacheScope: 'public',
  });
  assert.deepEqual(hintsOf(await post('resources/read', { uri: latestBroadcast }, latestBroadcast)), {
    ttlMs: 0,
    cacheScope: 'private',
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// -- Tasks (io.modelcontextprotocol/tasks): the long tools answer at once with a task to poll.

const tasksCapabilities = { extensions: { 'io.modelcontextprotocol/tasks': {} } };

interface TaskReply {
  taskId: string;
  status: string;
  statusMessage?: string;
  pollIntervalMs: number;
  result?: { structuredContent?: Record<string, unknown> };
}

/** The task's state from tasks/get. */
async function getTask(url: string, taskId: string): Promise<TaskReply> {
  const reply = await post2026(url, 'tasks/get', { taskId }, taskId, tasksCapabilities);
  assert.equal(reply.error, undefined, JSON.stringify(reply.error));
  return reply.result as unknown as TaskReply;
}

/** A 2026-07-28 cpu_work call; `capabilities` declared on the request. */
function callCpuWork(url: string, args: Record<string, unknown>, capabilities = {}): Promise<JsonRpcReply> {
  return post2026(url, 'tools/call', { name: 'cpu_work', arguments: args }, 'cpu_work', capabilities);
}

/** Polls tasks/get every pollIntervalMs until `until` holds or the task leaves `working`. */
async function pollTask(url: string, first: TaskReply, until: (task: TaskReply) => boolean): Promise<TaskReply> {
  let task = first;
  const deadline = Date.now() + 60_000;
  while (task.status === 'working' && !until(task)) {
    if (Date.now() > deadline) throw new Error(`task ${task.taskId} still working`);
    await new Promise((resolve) => setTimeout(resolve, task.pollIntervalMs));
    task = await getTask(url, task.taskId);
  }
  return task;
}

test('HTTP, 2 workers: cpu_work runs as a task for a 2026 client that declared the Tasks extension, polled to its inlined result', async (t) => {
  const url = await startDemo(t, '--threads', '2');
  const args = { rounds: 3_000_000, chunks: 30, seed: 'task' };
  const created = await callCpuWork(url, args, tasksCapabilities);
  assert.equal(created.result?.resultType, 'task', JSON.stringify(created));
  const handle = created.result as unknown as TaskReply;
  assert.match(handle.taskId, /^[A-Za-z0-9_-]{22}$/);
  const task = await pollTask(url, handle, () => false);
  assert.equal(task.status, 'completed', JSON.stringify(task));
  assert.equal(task.result?.structuredContent?.['rounds'], 3_000_000);

  // The same call from a client that did not declare the extension: the result, at once.
  const plain = await callCpuWork(url, { ...args, rounds: 1_000 });
  assert.equal(plain.result?.resultType, 'complete', JSON.stringify(plain));
  assert.equal(plain.result.structuredContent?.['rounds'], 1_000);
});

/** The tools the web page shows running: the `state` event a page gets first from /events. */
async function runningTools(url: string): Promise<string[]> {
  const controller = new AbortController();
  const response = await fetch(new URL('/events', url), { signal: controller.signal });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      for (const block of text.split('\n\n').slice(0, -1)) {
        const lines = block.split('\n');
        if (!lines.includes('event: state')) continue;
        const data = lines.filter((line) => line.startsWith('data: ')).map((line) => line.slice(6));
        const state = JSON.parse(data.join('\n')) as { running: Array<{ tool: string }> };
        return state.running.map((call) => call.tool);
      }
      const read = await reader.read();
      if (read.done) throw new Error(`no state event in ${text}`);
      text += decoder.decode(read.value as Uint8Array, { stream: true });
    }
  } finally {
    controller.abort();
  }
}

test('HTTP, 2 workers: tasks/cancel stops a cpu_work task between chunks; the page shows the run until it ends', async (t) => {
  const url = await startDemo(t, '--threads', '2');
  const args = { rounds: 100_000_000, chunks: 1_000, seed: 'cancel' };
  const created = await callCpuWork(url, args, tasksCapabilities);
  const handle = created.result as unknown as TaskReply;
  assert.equal(handle.status, 'working', JSON.stringify(created));
  // Once it has made progress, cancel it from another request (whichever worker takes it).
  const task = await pollTask(url, handle, (state) => state.statusMessage !== undefined);
  assert.equal(task.status, 'working', JSON.stringify(task));
  // Its progress notifications are the task's statusMessage.
  assert.match(task.statusMessage ?? '', /^\d+ of 100000000 rounds$/);
  assert.deepEqual(await runningTools(url), ['cpu_work']);
  const cancel = await post2026(url, 'tasks/cancel', { taskId: handle.taskId }, handle.taskId, tasksCapabilities);
  assert.equal(cancel.result?.resultType, 'complete', JSON.stringify(cancel));
  assert.equal((await getTask(url, handle.taskId)).status, 'cancelled');
  // The run sees its signal between chunks and ends: the page no longer shows it.
  const deadline = Date.now() + 20_000;
  while ((await runningTools(url)).length > 0) {
    assert.ok(Date.now() < deadline, 'cpu_work still running after its task was cancelled');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(
    (
      (await post2026(url, 'tasks/get', { taskId: handle.taskId }, handle.taskId, tasksCapabilities))
        .result as unknown as TaskReply
    ).status,
    'cancelled',
  );
});
