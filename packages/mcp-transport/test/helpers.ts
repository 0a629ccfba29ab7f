import { TextDecoder } from 'node:util';
import { setEnvironmentData } from 'node:worker_threads';
import type { TestContext } from 'node:test';
import { createServer, Router, type Server, type ServerOptions } from '@mummyx/core';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { mountMcp, type McpMount, type McpMountOptions } from '@mummyx/mcp-transport';
import type { HookReport } from './fixtures/mcp-app.js';
import { barrierKey, createTestServer } from './fixtures/tools.js';

export const appUrl = new URL('./fixtures/mcp-app.js', import.meta.url);

export interface Started {
  server: Server;
  url: string;
  /** The inline mount (undefined in threaded mode, where each worker has its own). */
  mount: McpMount | undefined;
}

export type Mode = 'inline' | 'threaded';

/**
 * Starts an MCP server inline or threaded (the fixture app module on 2 workers, unless
 * `serverOptions` says otherwise), with these mount options either way. Threaded, the options
 * travel as JSON in the app module's URL; the session hooks are the only functions that can
 * (each worker reports them back on a BroadcastChannel).
 */
export async function startMcp(
  t: TestContext,
  mode: Mode,
  mountOptions: Partial<McpMountOptions> = {},
  serverOptions: ServerOptions = {},
): Promise<Started> {
  let server: Server;
  let mount: McpMount | undefined;
  if (mode === 'inline') {
    const router = new Router();
    mount = mountMcp(router, { createServer: createTestServer, log: () => {}, ...mountOptions });
    server = createServer(router, { logLevel: 'error', ...serverOptions });
  } else {
    const { onSessionCreated, onSessionClosed, ...rest } = mountOptions;
    for (const [name, value] of Object.entries(rest)) {
      if (typeof value === 'function') throw new Error(`startMcp: ${name} cannot reach a worker thread`);
    }
    const hooked = onSessionCreated !== undefined || onSessionClosed !== undefined;
    if (hooked) {
      const channel = new BroadcastChannel('mcp-test-hooks');
      channel.onmessage = (event) => {
        const report = (event as MessageEvent).data as HookReport;
        if (report.hook === 'created') onSessionCreated?.(report.session);
        else onSessionClosed?.(report.session, report.reason!);
      };
      t.after(() => channel.close());
    }
    const app = new URL(appUrl);
    app.searchParams.set('mount', JSON.stringify({ ...rest, ...(hooked ? { reportHooks: true } : {}) }));
    server = createServer({ app, threads: 2, logLevel: 'error', ...serverOptions });
  }
  const address = await server.listen(0);
  t.after(async () => {
    await mount?.close();
    await server.close();
  });
  return { server, url: address.url, mount };
}

/** An SDK client connected over Streamable HTTP. */
export async function connectClient(t: TestContext, url: string, name = 'test-client'): Promise<Client> {
  const client = new Client({ name, version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', url));
  await client.connect(transport);
  t.after(() => client.close());
  return client;
}

export function textOf(result: unknown): string {
  const content = (result as { content: Array<{ type: string; text?: string }> }).content;
  return content[0]?.text ?? '';
}

export const initializeBody = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

export const bothAccept = 'application/json, text/event-stream';

/** Initialises a session with raw fetch and returns its id (the SSE answer is read to the end). */
export async function rawInitialize(url: string, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(new URL('/mcp', url), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: bothAccept, ...headers },
    body: initializeBody,
  });
  await response.text();
  const id = response.headers.get('mcp-session-id');
  if (response.status !== 200 || id === null) throw new Error(`initialize failed: ${response.status}`);
  await fetch(new URL('/mcp', url), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: bothAccept, 'Mcp-Session-Id': id },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  }).then((r) => r.text());
  return id;
}

interface EventReader {
  reader: ReadableStreamDefaultReader<Uint8Array>;
  buffer: string;
  decoder: TextDecoder;
  done: boolean;
}

const readers = new WeakMap<Response, EventReader>();

function readerOf(response: Response): EventReader {
  let state = readers.get(response);
  if (state === undefined) {
    state = { reader: response.body!.getReader(), buffer: '', decoder: new TextDecoder(), done: false };
    readers.set(response, state);
  }
  return state;
}

/**
 * Reads SSE events from a fetch response until `until` says stop (given the
 * events read by this call), the stream ends, or the timeout passes. Can be
 * called again on the same response to read on.
 */
export async function readEvents(
  response: Response,
  until: (events: SseEvent[]) => boolean,
  timeoutMs = 5_000,
): Promise<SseEvent[]> {
  const state = readerOf(response);
  const events: SseEvent[] = [];
  const take = (): void => {
    let end: number;
    while ((end = state.buffer.indexOf('\n\n')) >= 0) {
      const block = state.buffer.slice(0, end);
      state.buffer = state.buffer.slice(end + 2);
      events.push(parseBlock(block));
    }
  };
  take();
  const deadline = Date.now() + timeoutMs;
  while (!until(events) && !state.done) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), remaining)));
    const result = await Promise.race([state.reader.read(), timeout]);
    clearTimeout(timer);
    if (result === 'timeout') break;
    if (result.done) {
      state.done = true;
      break;
    }
    state.buffer += state.decoder.decode(result.value, { stream: true });
    take();
  }
  return events;
}

/** True once readEvents saw the stream end. */
export function streamEnded(response: Response): boolean {
  return readers.get(response)?.done === true;
}

/** Stops reading and closes the response body. */
export async function closeEvents(response: Response): Promise<void> {
  const state = readers.get(response);
  if (state !== undefined) await state.reader.cancel().catch(() => {});
  else await response.body?.cancel().catch(() => {});
}

export interface SseEvent {
  event: string | undefined;
  id: string | undefined;
  retry: string | undefined;
  data: string;
  comment: string | undefined;
}

function parseBlock(block: string): SseEvent {
  const event: SseEvent = { event: undefined, id: undefined, retry: undefined, data: '', comment: undefined };
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) event.comment = line.slice(1).trim();
    else if (line.startsWith('event:')) event.event = line.slice(6).trim();
    else if (line.startsWith('id:')) event.id = line.slice(3).trim();
    else if (line.startsWith('retry:')) event.retry = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  event.data = data.join('\n');
  return event;
}

/**
 * A fresh counter for the fixture's `gather` tool, shared with every worker started after this
 * call (worker environment data shares a SharedArrayBuffer instead of copying it). Returns how
 * many calls have arrived so far.
 */
export function openBarrier(): () => number {
  const arrived = new Int32Array(new SharedArrayBuffer(4));
  setEnvironmentData(barrierKey, arrived.buffer);
  return () => Atomics.load(arrived, 0);
}

/** POSTs a JSON-RPC body to /mcp with the headers every client sends. */
export function postMcp(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(new URL('/mcp', url), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: bothAccept, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** The JSON-RPC messages of an answer, whether it came as JSON or as an SSE stream (read to its end). */
export async function messagesOf(response: Response): Promise<unknown[]> {
  const type = response.headers.get('content-type') ?? '';
  if (type.startsWith('application/json')) {
    const body: unknown = await response.json();
    return Array.isArray(body) ? (body as unknown[]) : [body];
  }
  const events = await readEvents(response, () => false);
  return events.filter((event) => event.event === 'message').map((event) => JSON.parse(event.data) as unknown);
}
