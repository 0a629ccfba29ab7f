// Helpers for the Tasks extension tests: the task fixture server inline (a mount of this process,
// with any options) or on four workers (the app module mcp-app-tasks), raw 2026-07-28 requests,
// and the official client side of the extension (@modelcontextprotocol/ext-tasks) on an SDK 2.x
// Client.
import type { TestContext } from 'node:test';
import { BroadcastChannel } from 'node:worker_threads';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import {
  createTaskSessionFromClient,
  type ApplicationInputHandler,
  type JsonRpcResponse,
  type TaskEnabledSession,
} from '@modelcontextprotocol/ext-tasks/client';
import { createServer, Router, type Server, type ServerOptions } from '@mummyx/core';
import { mountMcp, type McpMount, type McpMountOptions, type McpTasksOptions } from '@mummyx/mcp-transport';
import {
  announceChannelName,
  createTaskFixtureServer,
  taskFixtureOptions,
  type Announcement,
} from './fixtures/tasks-tools.js';

export const tasksAppUrl = new URL('./fixtures/mcp-app-tasks.js', import.meta.url);
export const tasksExtension = 'io.modelcontextprotocol/tasks';
export const modernVersion = '2026-07-28';

export type TasksMode = 'inline' | 'threaded';

export interface TasksServer {
  url: string;
  server: Server;
  /** The mount serving requests (inline), or the IO thread's mount of the app module (threaded: it hosts the store). */
  mount: McpMount;
}

/**
 * The task fixture server: inline, a mount of its own with `tasks` overrides; threaded, the app
 * module on four workers (its options come from the module and the environment).
 */
export async function startTasksServer(
  t: TestContext,
  mode: TasksMode,
  overrides: { tasks?: Partial<McpTasksOptions>; mount?: Partial<McpMountOptions>; server?: ServerOptions } = {},
): Promise<TasksServer> {
  let server: Server;
  let mount: McpMount;
  if (mode === 'inline') {
    const router = new Router();
    const mounted: McpMount = mountMcp(router, {
      createServer: (ctx) => createTaskFixtureServer(ctx, () => mounted),
      tasks: { ...taskFixtureOptions, ...overrides.tasks },
      modern: { keepAliveMs: 1_000 },
      log: () => {},
      ...overrides.mount,
    });
    mount = mounted;
    server = createServer(router, { logLevel: 'error', ...overrides.server });
  } else {
    server = createServer({ app: tasksAppUrl, threads: 4, logLevel: 'error', ...overrides.server });
  }
  const address = await server.listen(0);
  if (mode === 'threaded') {
    // The IO thread imported the app module before the workers: its mount hosts the task store.
    mount = ((await import(tasksAppUrl.href)) as { mcp: McpMount }).mcp;
  }
  t.after(async () => {
    if (mode === 'inline') await mount.close();
    await server.close();
  });
  return { url: address.url, server, mount: mount! };
}

/** The `_meta` envelope of a 2026 request; `tasks` declares the extension. */
export function envelope(options: { tasks?: boolean; capabilities?: Record<string, unknown> } = {}) {
  const capabilities: Record<string, unknown> = { elicitation: { form: {} }, ...options.capabilities };
  if (options.tasks !== false) capabilities['extensions'] = { [tasksExtension]: {} };
  return {
    'io.modelcontextprotocol/protocolVersion': modernVersion,
    'io.modelcontextprotocol/clientCapabilities': capabilities,
    'io.modelcontextprotocol/clientInfo': { name: 'tasks-test', version: '1.0.0' },
  };
}

let nextId = 1;

export interface RpcAnswer {
  status: number;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: Record<string, unknown> };
}

/** The MCP endpoint of `url`: `/mcp` of an origin, or the URL itself when it names a path. */
function endpointOf(url: string): URL {
  const parsed = new URL(url);
  return parsed.pathname === '/' ? new URL('/mcp', parsed) : parsed;
}

/**
 * One 2026-07-28 request with fetch to `url` (an origin: its `/mcp`; or an endpoint), with the
 * headers that must match it (`Mcp-Name` from `params.name` or `params.taskId`); `tasks: false`
 * leaves the extension out of the envelope.
 */
export async function rpc(
  url: string,
  method: string,
  params: Record<string, unknown> = {},
  options: { tasks?: boolean; headers?: Record<string, string>; token?: string } = {},
): Promise<RpcAnswer> {
  const message = {
    jsonrpc: '2.0',
    id: nextId++,
    method,
    params: { ...params, _meta: { ...envelope({ tasks: options.tasks }), ...(params['_meta'] as object) } },
  };
  const headers = {
    ...(options.token === undefined ? {} : { Authorization: `Bearer ${options.token}` }),
    ...options.headers,
  };
  const { status, answer } = await postMessage(endpointOf(url), message, headers);
  return {
    status,
    ...(answer['result'] === undefined ? {} : { result: answer['result'] as Record<string, unknown> }),
    ...(answer['error'] === undefined ? {} : { error: answer['error'] as RpcAnswer['error'] }),
  };
}

/**
 * POSTs one 2026 request with its standard headers (`Mcp-Name` from `params.name` of a
 * `tools/call`, or `params.taskId`), `headers` over them; resolves with the status and the answer.
 */
async function postMessage(
  endpoint: URL,
  message: Record<string, unknown>,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<{ status: number; answer: Record<string, unknown> }> {
  const method = message['method'] as string;
  const params = (message['params'] ?? {}) as Record<string, unknown>;
  const name = method === 'tools/call' ? params['name'] : params['taskId'];
  const response = await fetch(endpoint, {
    method: 'POST',
    ...(signal === undefined ? {} : { signal }),
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      'MCP-Protocol-Version': modernVersion,
      'Mcp-Method': method,
      ...(typeof name === 'string' ? { 'Mcp-Name': name } : {}),
      ...headers,
    },
    body: JSON.stringify(message),
  });
  return { status: response.status, answer: await messageOf(response, message['id']) };
}

/** The answer to request `id` in a 2026 response: a JSON body, or the matching message of an event stream. */
async function messageOf(response: Response, id: unknown): Promise<Record<string, unknown>> {
  const text = await response.text();
  if (!(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    return JSON.parse(text) as Record<string, unknown>;
  }
  const messages = text
    .split('\n')
    .filter((line) => line.startsWith('data:'))
    .map((line) => JSON.parse(line.slice(5)) as Record<string, unknown>);
  return messages.find((message) => message['id'] === id) ?? {};
}

/** Polls `tasks/get` (as the spec asks, every `pollIntervalMs` at most) until the task is in `status` or terminal. */
export async function waitForStatus(
  url: string,
  taskId: string,
  statuses: string[],
  options: { token?: string; timeoutMs?: number } = {},
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  for (;;) {
    const answer = await rpc(url, 'tasks/get', { taskId }, { token: options.token });
    const task = answer.result;
    if (task === undefined) throw new Error(`tasks/get failed: ${JSON.stringify(answer)}`);
    if (statuses.includes(task['status'] as string)) return task;
    if (Date.now() > deadline) throw new Error(`task ${taskId} stayed ${String(task['status'])}`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(Number(task['pollIntervalMs']), 250)));
  }
}

/** Collects what the fixture servers announce (threads that made servers, aborted runs), from every thread. */
export function listenToAnnouncements(t: TestContext): Announcement[] {
  const heard: Announcement[] = [];
  const channel = new BroadcastChannel(announceChannelName);
  channel.onmessage = (event) => heard.push((event as { data: Announcement }).data);
  t.after(() => channel.close());
  return heard;
}

/** Resolves once `predicate` holds, checking every 20 ms; rejects after `timeoutMs`. */
export async function eventually(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface TaskClient {
  client: Client;
  session: TaskEnabledSession;
  /** Requests sent through the session's raw dispatch, by method. */
  sent: string[];
}

/**
 * An SDK 2.x Client pinned to 2026-07-28, and the ext-tasks session over it. The session needs a
 * raw dispatch for the task wire shapes the SDK's codecs refuse (tools/call answered with a task,
 * tasks/*): here, fetch with the standard headers.
 */
export async function connectTaskClient(
  t: TestContext,
  url: string,
  options: {
    onInputRequest?: ApplicationInputHandler['handle'];
    /** Wraps each raw request: `send` sends it; what this returns is the session's answer. */
    onDispatch?: (method: string, send: () => Promise<JsonRpcResponse>) => Promise<JsonRpcResponse>;
  } = {},
): Promise<TaskClient> {
  const capabilities = { elicitation: { form: {} } };
  const client = new Client(
    { name: 'tasks-test', version: '1.0.0' },
    { capabilities, versionNegotiation: { mode: { pin: modernVersion } } },
  );
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', url)));
  const sent: string[] = [];
  let rawId = 0;
  const rawDispatch = async (request: unknown, dispatch?: { signal?: AbortSignal }): Promise<JsonRpcResponse> => {
    const message: Record<string, unknown> = { jsonrpc: '2.0', id: `raw-${++rawId}`, ...(request as object) };
    const method = message['method'] as string;
    sent.push(method);
    const send = async (): Promise<JsonRpcResponse> => {
      const { answer } = await postMessage(new URL('/mcp', url), message, {}, dispatch?.signal);
      if (answer['error'] !== undefined) return { kind: 'error', error: answer['error'] as never };
      return { kind: 'result', result: answer['result'] as never };
    };
    return options.onDispatch === undefined ? send() : options.onDispatch(method, send);
  };
  const session = createTaskSessionFromClient(client, {
    endpointId: url,
    rawDispatch,
    v2RequestFraming: {
      protocolVersion: modernVersion,
      clientInfo: { name: 'tasks-test', version: '1.0.0' },
      clientCapabilities: capabilities,
    },
    ...(options.onInputRequest === undefined ? {} : { onInputRequest: options.onInputRequest }),
  });
  t.after(async () => {
    await session.close().catch(() => {});
    await client.close().catch(() => {});
  });
  return { client, session, sent };
}

/** A task request the client sent, and the threads that made a server for it. */
export interface AttributedRequest {
  method: string;
  status: unknown;
  threads: number[];
}

/**
 * An `onDispatch` that sends the client's `tasks/*` requests one at a time, each once `ready()`
 * holds, and waits for the server announcement of each before the next: the announcements heard
 * meanwhile are that request's own (a server per request). Fills `requests`.
 */
export function attributeServers(
  heard: Announcement[],
  ready: () => boolean,
  requests: AttributedRequest[],
): (method: string, send: () => Promise<JsonRpcResponse>) => Promise<JsonRpcResponse> {
  let queue: Promise<unknown> = Promise.resolve();
  return (method, send) => {
    if (!method.startsWith('tasks/')) return send();
    const turn = queue.then(async () => {
      await eventually(ready, 'the task to be ready');
      const mark = heard.length;
      const answer = await send();
      await eventually(() => heard.slice(mark).some((a) => a.kind === 'server'), `the server of ${method}`);
      requests.push({
        method,
        status: answer.kind === 'result' ? (answer.result as { status?: unknown }).status : undefined,
        threads: heard.slice(mark).flatMap((a) => (a.kind === 'server' ? [a.threadId] : [])),
      });
      return answer;
    });
    queue = turn.catch(() => {});
    return turn;
  };
}

/** The thread a fixture result or status message names (`… on thread N`). */
export function threadNamed(text: unknown): number | undefined {
  const match = /on thread (\d+)/.exec(String(text));
  return match === null ? undefined : Number(match[1]);
}
