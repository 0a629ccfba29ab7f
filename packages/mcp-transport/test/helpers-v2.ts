// Helpers for the dual-era tests: a mount of the SDK 2.x test server (inline, or threaded through the
// app module), SDK 2.x clients in each negotiation mode, and raw 2026-07-28 requests.
import type { TestContext } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { createServer, Router, type Server, type ServerOptions } from '@mummyx/core';
import { mountMcp, type McpMount, type McpMountOptions } from '@mummyx/mcp-transport';
import { createV2TestServer } from './fixtures/tools-v2.js';
import type { Mode, Started } from './helpers.js';

export const appV2Url = new URL('./fixtures/mcp-app-v2.js', import.meta.url);

/**
 * Starts the SDK 2.x test server inline (with these mount options) or threaded (the v2 app module, 4
 * workers, which reads its options from `appEnvironment`: the variables are set while it loads).
 */
export async function startMcpV2(
  t: TestContext,
  mode: Mode,
  mountOptions: Partial<McpMountOptions> = {},
  serverOptions: ServerOptions = {},
  appEnvironment: Record<string, string> = {},
): Promise<Started> {
  let server: Server;
  let mount: McpMount | undefined;
  if (mode === 'inline') {
    const router = new Router();
    const mounted: McpMount = mountMcp(router, {
      createServer: (ctx) => createV2TestServer(ctx, () => mounted),
      cacheHints: { 'tools/list': { ttlMs: 60_000, cacheScope: 'public' } },
      modern: { keepAliveMs: 1_000 },
      log: () => {},
      ...mountOptions,
    });
    mount = mounted;
    server = createServer(router, { logLevel: 'error', ...serverOptions });
  } else {
    for (const [name, value] of Object.entries(appEnvironment)) {
      process.env[name] = value;
      t.after(() => delete process.env[name]);
    }
    server = createServer({ app: appV2Url, threads: 4, logLevel: 'error', ...serverOptions });
  }
  const address = await server.listen(0);
  t.after(async () => {
    await mount?.close();
    await server.close();
  });
  return { server, url: address.url, mount };
}

export type Negotiation = 'default' | 'auto' | 'pin';

/**
 * An SDK 2.x client over Streamable HTTP: `default` speaks 2025 (initialize), `auto` probes
 * `server/discover` and falls back, `pin` speaks only 2026-07-28. It accepts every elicitation
 * with `{ ok: true }`.
 */
export async function connectV2Client(t: TestContext, url: string, negotiation: Negotiation): Promise<Client> {
  const versionNegotiation =
    negotiation === 'auto'
      ? { mode: 'auto' as const }
      : negotiation === 'pin'
        ? { mode: { pin: '2026-07-28' } }
        : undefined;
  const client = new Client(
    { name: `v2-${negotiation}`, version: '1.0.0' },
    {
      capabilities: { elicitation: { form: {} } },
      ...(versionNegotiation === undefined ? {} : { versionNegotiation }),
    },
  );
  client.setRequestHandler('elicitation/create', () => ({ action: 'accept', content: { ok: true } }));
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', url)));
  t.after(() => client.close());
  return client;
}

export const modernVersion = '2026-07-28';

/** The `_meta` envelope a 2026-07-28 request carries. */
export function envelope(capabilities: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    'io.modelcontextprotocol/protocolVersion': modernVersion,
    'io.modelcontextprotocol/clientCapabilities': capabilities,
    'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
  };
}

/** The name header a 2026 request of `method` must carry (`Mcp-Name`), if any. */
function nameOf(method: string, params: Record<string, unknown>): string | undefined {
  if (method === 'tools/call' || method === 'prompts/get') return params['name'] as string;
  if (method === 'resources/read') return params['uri'] as string;
  return undefined;
}

/** A 2026-07-28 request with fetch: the envelope in `_meta` and the matching headers, overridable. */
export function modernPost(
  url: string,
  method: string,
  params: Record<string, unknown> = {},
  options: {
    id?: number | string;
    headers?: Record<string, string>;
    meta?: Record<string, unknown> | null;
    signal?: AbortSignal;
  } = {},
): Promise<Response> {
  const name = nameOf(method, params);
  const meta = options.meta === undefined ? envelope({ elicitation: { form: {} } }) : options.meta;
  const body = {
    jsonrpc: '2.0',
    id: options.id ?? 1,
    method,
    params: { ...params, ...(meta === null ? {} : { _meta: meta }) },
  };
  return postMcp(
    url,
    JSON.stringify(body),
    {
      'Mcp-Method': method,
      ...(name === undefined ? {} : { 'Mcp-Name': name }),
      ...options.headers,
    },
    options.signal,
  );
}

/** A POST to /mcp with these bytes and the 2026-07-28 headers (`Mcp-Method: tools/list` unless overridden). */
export function postMcp(
  url: string,
  body: string,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<Response> {
  return fetch(new URL('/mcp', url), {
    ...(signal === undefined ? {} : { signal }),
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      'MCP-Protocol-Version': modernVersion,
      'Mcp-Method': 'tools/list',
      ...headers,
    },
    body,
  });
}

/** The JSON-RPC message of a 2026 answer, JSON or a one-request SSE stream (its last message). */
export async function answerOf(response: Response): Promise<Record<string, unknown>> {
  const type = response.headers.get('content-type') ?? '';
  const text = await response.text();
  if (!type.startsWith('text/event-stream')) return JSON.parse(text) as Record<string, unknown>;
  const messages = text
    .split(/\n\n/)
    .map((block) =>
      block
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trim())
        .join('\n'),
    )
    .filter((data) => data !== '')
    .map((data) => JSON.parse(data) as Record<string, unknown>);
  return messages[messages.length - 1]!;
}
