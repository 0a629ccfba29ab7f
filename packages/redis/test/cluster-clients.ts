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
