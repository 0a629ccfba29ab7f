// Clients and checks shared by the cluster tests (cluster-*.test.ts): each file starts its own
// Redis, three demo nodes and HAProxy (cluster-processes.ts), and stays well within the runner's
// per-file time limit.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { TestContext } from 'node:test';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpTransportV2 } from '@modelcontextprotocol/client';
import { Upload } from 'tus-js-client';
import { statsOf, type Cluster } from './cluster-processes.js';

export function textOf(result: unknown): string {
  return (result as { content: Array<{ text?: string }> }).content[0]?.text ?? '';
}

export async function forwardedTotal(cluster: Cluster): Promise<number> {
  let total = 0;
  for (const node of cluster.nodes) total += (await statsOf(node)).sessionDirectory?.forwarded ?? 0;
  return total;
}

/**
 * A tus-js-client upload through the balancer; `servedBy` gets the node
 * that answered each PATCH (HAProxy's `X-Served-By`).
 */
export function upload(
  cluster: Cluster,
  data: Buffer,
  options: { chunkSize: number; onChunk?: (offset: number) => void; servedBy?: string[] },
) {
  return new Promise<string>((resolve, reject) => {
    const tus = new Upload(data, {
      endpoint: `${cluster.url}/files/`,
      chunkSize: options.chunkSize,
      retryDelays: [100, 300, 500, 1_000, 2_000, 3_000, 5_000, 5_000],
      metadata: { filename: 'cluster.bin' },
      onChunkComplete: (_size, offset) => options.onChunk?.(offset),
      onAfterResponse: (request, response) => {
        if (request.getMethod() === 'PATCH') options.servedBy?.push(response.getHeader('X-Served-By') ?? '?');
      },
      onSuccess: () => resolve(tus.url!.split('/').pop()!),
      onError: reject,
    });
    tus.start();
  });
}

/**
 * A fetch for an MCP client transport that notes which node answered each
 * JSON-RPC request (HAProxy's `X-Served-By`), by method.
 */
export function recordingFetch(): { fetch: typeof fetch; servedBy: Array<{ method: string; node: string }> } {
  const servedBy: Array<{ method: string; node: string }> = [];
  const recording = async (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const response = await fetch(url, init);
    const node = response.headers.get('X-Served-By');
    if (node !== null && typeof init?.body === 'string') {
      const message = JSON.parse(init.body) as { method?: string };
      if (message.method !== undefined) servedBy.push({ method: message.method, node });
    }
    return response;
  };
  return { fetch: recording, servedBy };
}

/** How many times each node appears in `served`. */
export function countByNode(served: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const node of served) counts[node] = (counts[node] ?? 0) + 1;
  return counts;
}

export const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** An SDK 2.x client pinned to 2026-07-28 (stateless requests), accepting every confirmation it is asked. */
export async function connect2026(
  t: TestContext,
  url: string,
): Promise<{ client: ClientV2; asked: string[]; servedBy: Array<{ method: string; node: string }> }> {
  const client = new ClientV2(
    { name: 'cluster-2026', version: '1.0.0' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } }, capabilities: { elicitation: { form: {} } } },
  );
  const asked: string[] = [];
  client.setRequestHandler('elicitation/create', (request) => {
    asked.push(request.params.message);
    return { action: 'accept', content: { confirm: true } };
  });
  const recording = recordingFetch();
  await client.connect(new HttpTransportV2(new URL(`${url}/mcp`), { fetch: recording.fetch }));
  t.after(() => client.close());
  assert.equal(client.getNegotiatedProtocolVersion(), '2026-07-28');
  return { client, asked, servedBy: recording.servedBy };
}

export const latestBroadcast = 'demo://broadcasts/latest';

const tasksExtension = 'io.modelcontextprotocol/tasks';

/** The `_meta` envelope of a 2026-07-28 request from a client that declared the Tasks extension. */
const tasksEnvelope = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': { extensions: { [tasksExtension]: {} } },
  'io.modelcontextprotocol/clientInfo': { name: 'cluster-tasks', version: '1.0.0' },
};

let nextRpcId = 1;

/** POSTs one 2026-07-28 request (with its `Mcp-Method`/`Mcp-Name` headers) to `url`'s `/mcp`. */
function post2026(url: string, method: string, params: Record<string, unknown>, signal?: AbortSignal) {
  const name = method === 'tools/call' ? params['name'] : params['taskId'];
  return fetch(`${url}/mcp`, {
    method: 'POST',
    ...(signal === undefined ? {} : { signal }),
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      'MCP-Protocol-Version': '2026-07-28',
      'Mcp-Method': method,
      ...(typeof name === 'string' ? { 'Mcp-Name': name } : {}),
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: nextRpcId++, method, params: { ...params, _meta: tasksEnvelope } }),
  });
}

/**
 * One 2026-07-28 request answered as JSON; resolves with its result (an error answer throws) and
 * the node that served it (HAProxy's `X-Served-By`, absent when sent to a node directly).
 */
export async function rpc2026(
  url: string,
  method: string,
  params: Record<string, unknown>,
): Promise<{ result: Record<string, unknown>; node: string | null }> {
  const response = await post2026(url, method, params);
  const answer = (await response.json()) as { result?: Record<string, unknown>; error?: unknown };
  const node = response.headers.get('X-Served-By');
  if (answer.result === undefined) throw new Error(`${method} served by ${node}: ${JSON.stringify(answer)}`);
  return { result: answer.result, node };
}

/** A `subscriptions/listen` stream on `url` for `taskIds`; collects the `notifications/tasks` it carries. */
export async function listenToTasks(t: TestContext, url: string, taskIds: string[]) {
  const controller = new AbortController();
  t.after(() => controller.abort());
  const response = await post2026(url, 'subscriptions/listen', { notifications: { taskIds } }, controller.signal);
  assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
  const states: Array<Record<string, unknown>> = [];
  const read = async () => {
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      const lines = (buffer += decoder.decode(read.value as Uint8Array, { stream: true })).split('\n');
      buffer = lines.pop()!;
      for (const line of lines.filter((l) => l.startsWith('data:'))) {
        const message = JSON.parse(line.slice(5)) as { method?: string; params?: Record<string, unknown> };
        if (message.method === 'notifications/tasks') states.push(message.params!);
      }
    }
  };
  read().catch(() => {});
  return states;
}
