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
