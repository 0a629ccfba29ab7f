import { randomUUID } from 'node:crypto';
import { toWebRequest, writeWebResponse, type Request } from '@mummyx/core';
import { authInfoOf } from '../auth.js';
import type { EndpointContext } from '../endpoint-context.js';
import type { ChannelEventBus } from '../event-bus.js';
import { ErrorCode, echoableId, respondError } from '../json-rpc.js';
import {
  clientInfoMetaKey,
  legacyProtocolVersions,
  modernProtocolVersion,
  protocolVersionMetaKey,
  type AuthInfo,
  type RequestId,
} from '../mcp-types.js';
import { loadSdkV2, type McpHttpHandler, type McpRequestContext, type SdkV2, type ServerEventBus } from '../sdk-v2.js';
import type { ServerFactory } from '../server-factory.js';
import { protocolServerOf, type McpServerLike } from '../session-transport.js';
import type { TaskCall } from '../tasks/task.js';
import {
  resolveTasksOptions,
  TasksExtension,
  type McpTasksOptions,
  type TaskExchange,
} from '../tasks/tasks-extension.js';

/** How the 2026-07-28 leg answers (SDK 2.x `createMcpHandler` options). */
export interface ModernOptions {
  /** `'auto'`: JSON unless the handler sends something before its result (progress, logs), then SSE; `'sse'`: always SSE. */
  responseMode: 'auto' | 'sse';
  /** SSE comment keep-alives on streamed answers and listen streams, in ms; 0 sends none. */
  keepAliveMs: number;
  /** Open `subscriptions/listen` streams per thread. */
  maxSubscriptions: number;
  /** Keep the servers of exchanges that ended normally and serve later requests with them, one at a time. */
  reuseServers: boolean;
}

/** Idle servers one thread keeps for `reuseServers`; more are dropped. */
const maxIdleServers = 64;

/** What the SDK's factory call needs to know about the request it serves. */
interface Exchange extends TaskExchange {
  readonly protocolVersion: string | undefined;
  /** A server made before the SDK asked (to learn the SDK line); handed over on its first call. */
  premade: McpServerLike | undefined;
  /** The server handed to the SDK for this request, once it asked for one. */
  server: McpServerLike | undefined;
  /** Whether a kept server may serve this request (`reuseServers`, and the request names its client). */
  mayReuse: boolean;
}

/**
 * Streamable HTTP in protocol 2026-07-28: no sessions, every request stands
 * alone and may be served by any worker. The request is answered by SDK
 * 2.x's `createMcpHandler` (one per mount per thread, with `legacy:
 * 'reject'`: 2025-era traffic never reaches it), which owns the whole
 * validation ladder (`_meta` envelope, header/body checks, versions,
 * capabilities), `server/discover`, multi-round-trip requests and
 * `subscriptions/listen`; its listen streams hear the mount's cross-thread
 * event bus. The body is parsed once, here, and handed over as `parsedBody`
 * with a body-less web Request.
 *
 * A mount whose servers are SDK 1.x ones, or without SDK 2.x installed, or
 * with `modern: false`, answers every 2026-era request 400 / -32000 instead,
 * which every auto-negotiating client reads as "fall back to initialize".
 */
export class Era2026 {
  readonly #context: EndpointContext;
  readonly #factory: ServerFactory;
  readonly #bus: ChannelEventBus;
  readonly #options: ModernOptions | undefined;
  readonly #exchanges = new WeakMap<globalThis.Request, Exchange>();
  /** The Tasks extension, when the mount serves it. */
  readonly tasks: TasksExtension | undefined;
  /** SDK 2.x once loaded; null while not known yet. */
  #sdk: SdkV2 | undefined | null = null;
  #handler: McpHttpHandler | undefined;
  /** Servers whose exchange ended normally, waiting for the next request (`reuseServers`). */
  readonly #idle: McpServerLike[] = [];

  constructor(
    context: EndpointContext,
    factory: ServerFactory,
    bus: ChannelEventBus,
    options: ModernOptions | undefined,
    tasks: { name: string; options: McpTasksOptions } | undefined,
  ) {
    this.#context = context;
    this.#factory = factory;
    this.#bus = bus;
    this.#options = options;
    this.tasks =
      tasks === undefined || options === undefined
        ? undefined
        : new TasksExtension(resolveTasksOptions(tasks.options), {
            name: tasks.name,
            bus,
            fetch: (body, call, authInfo, signal) => this.#fetchInternal(body, call, authInfo, signal),
            log: context.log,
          });
  }

  /**
   * Serves a POST whose body is parsed if it belongs to the 2026 era, and
   * resolves false (nothing answered) if it belongs to the 2025 eras. SDK
   * 2.x's own classifier decides (`classifyInboundRequest`: anything but
   * `legacy`, its ladder rejections included, is served here), so the choice
   * never disagrees with the SDK. Where the leg cannot serve (SDK 1.x
   * servers, SDK 2.x not installed, `modern: false`), a request that claims
   * 2026-07-28 by header or `_meta` is refused here and anything else goes
   * to the 2025 eras.
   */
  async serve(request: Request, body: unknown, cors: Record<string, string>): Promise<boolean> {
    if (!mayClaimModernEra(request, body)) return false;
    const sdk = this.#options === undefined ? undefined : await this.#loadSdk();
    if (sdk === undefined || this.#factory.line === 'v1') return this.#refuse(request, body, cors);
    const headers = request.headers;
    const outcome = sdk.classifyInboundRequest({
      httpMethod: 'POST',
      protocolVersionHeader: headers.get('mcp-protocol-version'),
      mcpMethodHeader: headers.get('mcp-method'),
      mcpNameHeader: headers.get('mcp-name'),
      body,
    });
    if (outcome.kind === 'legacy') return false;
    const authInfo = authInfoOf(request);
    const exchange: Exchange = {
      body,
      internal: false,
      remoteAddress: request.remoteAddress,
      protocolVersion: claimedVersion(request, body),
      premade: undefined,
      afterResponse: undefined,
      server: undefined,
      // A server readied for the Tasks extension is readied for its request: never kept.
      mayReuse: this.#options?.reuseServers === true && this.tasks === undefined && namesClient(body),
    };
    if (this.#factory.line === undefined) {
      // Whether this leg can serve at all depends on the SDK of the mount's servers; the first server tells.
      exchange.premade = await this.#factory.create(this.#infoOf(exchange), 'modern', authInfo);
      if (this.#factory.line !== 'v2') {
        await exchange.premade.close().catch(() => {});
        return this.#refuse(request, body, cors);
      }
    }
    const id = echoableId(body);
    const webRequest = toWebRequest(request, { body: false });
    if (webRequest === undefined) {
      respondError(request, 400, ErrorCode.ConnectionClosed, 'Bad Request: the Host header is not a host', cors, id);
      return true;
    }
    this.#exchanges.set(webRequest, exchange);
    const tasks = this.tasks;
    if (tasks !== undefined && outcome.kind === 'modern' && tasks.isTaskListen(body)) {
      if (exchange.premade !== undefined) void exchange.premade.close().catch(() => {});
      const options = this.#options!;
      const response = await tasks.listen(body, webRequest.headers, authInfo, webRequest.signal, {
        keepAliveMs: options.keepAliveMs,
        maxSubscriptions: options.maxSubscriptions,
        capabilities: () => this.#capabilitiesOf(exchange, authInfo),
      });
      await this.#write(request, response, cors, id);
      return true;
    }
    let response: Response;
    try {
      response = await this.#handlerOf(sdk).fetch(webRequest, {
        parsedBody: body,
        ...(authInfo === undefined ? {} : { authInfo }),
      });
    } finally {
      // The SDK answered without a server (a ladder rejection): the one made to learn the SDK line is not needed.
      if (exchange.premade !== undefined) void exchange.premade.close().catch(() => {});
    }
    const isKept = await this.#write(request, response, cors, id);
    if (isKept && exchange.server !== undefined && exchange.mayReuse) this.#keep(exchange.server);
    // A task's run (after its creation or its last input): the route stays busy until it ends, so on a
    // worker the pool sends this thread no other request meanwhile.
    const after = exchange.afterResponse;
    if (after !== undefined) {
      exchange.afterResponse = undefined;
      await after().catch((error: unknown) => this.#context.log(`a task run failed: ${String(error)}`));
    }
    return true;
  }

  /**
   * A request of the transport's own (a task's run of its call) through the
   * SDK handler, as if its client had sent it: the handler checks it like
   * any other, makes a server for it, and answers as the SDK does.
   */
  async #fetchInternal(
    body: Record<string, unknown>,
    call: TaskCall,
    authInfo: AuthInfo | undefined,
    signal: AbortSignal,
  ): Promise<Response> {
    const sdk = await this.#loadSdk();
    if (sdk === undefined) throw new Error('@modelcontextprotocol/server is not installed');
    const webRequest = new globalThis.Request(call.url, { method: 'POST', headers: call.headers, signal });
    this.#exchanges.set(webRequest, {
      body,
      internal: true,
      remoteAddress: call.remoteAddress,
      protocolVersion: call.headers['mcp-protocol-version'],
      premade: undefined,
      afterResponse: undefined,
      server: undefined,
      mayReuse: false,
    });
    return this.#handlerOf(sdk).fetch(webRequest, {
      parsedBody: body,
      ...(authInfo === undefined ? {} : { authInfo }),
    });
  }

  /** The capabilities the mount's servers declare (a listen stream carries only what they can deliver). */
  async #capabilitiesOf(exchange: Exchange, authInfo: AuthInfo | undefined): Promise<Record<string, unknown>> {
    const server = await this.#factory.create(this.#infoOf(exchange), 'modern', authInfo);
    try {
      const capabilities = (protocolServerOf(server) as { getCapabilities?: () => unknown }).getCapabilities?.();
      return typeof capabilities === 'object' && capabilities !== null ? (capabilities as Record<string, unknown>) : {};
    } finally {
      await server.close().catch(() => {});
    }
  }

  /**
   * Keeps a server for the next request, if its exchange is over: the SDK
   * closed it (its transport is gone), which it does once the answer was
   * produced. A server still connected is left to the SDK.
   */
  #keep(server: McpServerLike): void {
    if (isConnected(server) || this.#idle.length >= maxIdleServers) return;
    this.#idle.push(server);
  }

  /** Where this leg cannot serve: refuses a request claiming 2026-07-28 (true), leaves the rest to the 2025 eras. */
  #refuse(request: Request, body: unknown, cors: Record<string, string>): boolean {
    if (!claimsModernEra(request, body)) return false;
    refuseModernEra(request, cors, echoableId(body));
    return true;
  }

  /**
   * Ends this thread's tasks runs (their tasks fail: the server is closing),
   * aborts its 2026-era requests in flight and ends its listen streams.
   */
  async close(): Promise<void> {
    await this.tasks?.close();
    this.#idle.length = 0;
    await this.#handler?.close();
  }

  /**
   * Writes the SDK's answer. Resolves true when the exchange ended normally
   * with the answer written whole (a JSON body, or no body; not a stream, not
   * a failure, not a cancel), so its server may serve another request.
   */
  async #write(
    request: Request,
    response: Response,
    cors: Record<string, string>,
    id: RequestId | null,
  ): Promise<boolean> {
    if (response.status === 499) {
      // The exchange was torn down before it answered: the client left, or the mount is closing.
      void response.body?.cancel().catch(() => {});
      respondError(
        request,
        503,
        ErrorCode.ConnectionClosed,
        'Service Unavailable: the request was cancelled',
        cors,
        id,
      );
      return false;
    }
    response = withHeaders(response, cors);
    const eventStream = /^\s*text\/event-stream/i.test(response.headers.get('content-type') ?? '');
    // Event streams too, inline and from workers: core streams them with back-pressure and
    // cancels the body when the client leaves, which the SDK takes as cancelling the request.
    await writeWebResponse(request, response);
    // A stream may still be going (and its server with it); a 5xx tore its exchange down.
    return !eventStream && response.status < 500;
  }

  #handlerOf(sdk: SdkV2): McpHttpHandler {
    const options = this.#options!;
    return (this.#handler ??= sdk.createMcpHandler((ctx) => this.#serverFor(ctx) as never, {
      legacy: 'reject',
      responseMode: options.responseMode,
      keepAliveMs: options.keepAliveMs,
      maxSubscriptions: options.maxSubscriptions,
      bus: this.#bus as unknown as ServerEventBus,
      onerror: (error) => {
        // Refused requests are reported here too; they are answered on the wire and are not problems of ours.
        if (!/^Rejected /.test(error.message) && !('code' in error)) {
          this.#context.log(`2026-07-28 request failed: ${error.message}`);
        }
      },
    }));
  }

  /**
   * The SDK's factory: the server made to learn the SDK line, a kept one
   * (`reuseServers`), or a new one from the application's factory; readied
   * for the Tasks extension when the mount serves it.
   */
  async #serverFor(ctx: McpRequestContext): Promise<McpServerLike> {
    const exchange = ctx.requestInfo === undefined ? undefined : this.#exchanges.get(ctx.requestInfo);
    if (exchange === undefined) return this.#factory.create(this.#infoOf(undefined), 'modern', ctx.authInfo);
    let server = exchange.premade;
    exchange.premade = undefined;
    if (server === undefined && exchange.mayReuse) server = this.#idle.pop();
    server ??= await this.#factory.create(this.#infoOf(exchange), 'modern', ctx.authInfo);
    exchange.server = server;
    this.tasks?.prepare(server, exchange);
    return server;
  }

  #infoOf(exchange: Exchange | undefined) {
    return {
      id: randomUUID(),
      transport: 'streamable-http' as const,
      remoteAddress: exchange?.remoteAddress ?? '',
      protocolVersion: exchange?.protocolVersion,
    };
  }

  async #loadSdk(): Promise<SdkV2 | undefined> {
    if (this.#sdk === null) this.#sdk = await loadSdkV2();
    return this.#sdk;
  }
}

const refusal = `Bad Request: this endpoint serves MCP ${legacyProtocolVersions.slice(0, 3).join(', ')} only`;

/**
 * The answer of an endpoint that serves only the 2025 eras to a 2026-era
 * request: 400 / -32000 with the request's id. Auto-negotiating clients
 * (SDK 2.x `versionNegotiation: 'auto'`, mcp-remote, the Inspector,
 * `@ai-sdk/mcp`) all read it as "fall back to initialize"; a -32022 whose
 * `data.supported` names only 2025 versions makes `@ai-sdk/mcp` give up.
 */
function refuseModernEra(request: Request, cors: Record<string, string>, id: RequestId | null): void {
  respondError(request, 400, ErrorCode.ConnectionClosed, refusal, cors, id);
}

/** Whether a server is connected to a transport (SDK 2.x: `transport` is set while it serves an exchange). */
function isConnected(server: McpServerLike): boolean {
  return (protocolServerOf(server) as { transport?: unknown }).transport !== undefined;
}

/**
 * Whether a 2026-era request names its client (`clientInfo` in `_meta`). The
 * SDK writes a request's client identity into the server that serves it only
 * when the request has one, so a kept server would otherwise still show the
 * previous request's client.
 */
function namesClient(body: unknown): boolean {
  const params = (body as { params?: { _meta?: Record<string, unknown> } } | null)?.params;
  const info = params?._meta?.[clientInfoMetaKey];
  return typeof info === 'object' && info !== null;
}

/** The response with `headers` added (a copy when its headers are immutable). */
function withHeaders(response: Response, headers: Record<string, string>): Response {
  const entries = Object.entries(headers);
  if (entries.length === 0) return response;
  try {
    for (const [name, value] of entries) response.headers.set(name, value);
    return response;
  } catch {
    const copy = new Headers(response.headers);
    for (const [name, value] of entries) copy.set(name, value);
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers: copy });
  }
}

const legacyVersions = new Set(legacyProtocolVersions);

/**
 * Whether SDK 2.x might classify a POST as anything but 2025-era traffic:
 * an `MCP-Protocol-Version` that is not a 2025 (or 2024) version, or a
 * `_meta` (in the message or in a batch element) that is not a plain object
 * or holds an `io.modelcontextprotocol/` key. Everything else — 2025 traffic,
 * `_meta.progressToken` included — goes to the 2025 stack without loading
 * SDK 2.x or running its classifier (17 µs a request). Where the SDK would
 * reject the rest (a body that is not JSON-RPC: -32600), the 2025 stack
 * answers the same.
 */
function mayClaimModernEra(request: Request, body: unknown): boolean {
  const header = request.headers.get('mcp-protocol-version');
  if (header !== undefined && !legacyVersions.has(header)) return true;
  if (Array.isArray(body)) return body.some(hasEnvelopeKeys);
  return hasEnvelopeKeys(body);
}

function hasEnvelopeKeys(message: unknown): boolean {
  const params = typeof message === 'object' && message !== null ? (message as { params?: unknown }).params : undefined;
  if (typeof params !== 'object' || params === null) return false;
  const meta = (params as { _meta?: unknown })._meta;
  if (meta === undefined) return false;
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return true;
  return Object.keys(meta).some((key) => key.startsWith('io.modelcontextprotocol/'));
}

const versionPattern = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Whether a POST claims the 2026 era without SDK 2.x at hand to classify it:
 * an `MCP-Protocol-Version` header of 2026-07-28 or later, or a single
 * request or notification naming its version in `params._meta`. Batches and
 * posted responses are 2025-era traffic, as SDK 2.x classifies them.
 */
export function claimsModernEra(request: Request, body: unknown): boolean {
  if (Array.isArray(body) || typeof body !== 'object' || body === null) return false;
  if (typeof (body as { method?: unknown }).method !== 'string') return false;
  const header = request.headers.get('mcp-protocol-version')?.trim();
  if (header !== undefined && versionPattern.test(header) && header >= modernProtocolVersion) return true;
  const params = (body as { params?: unknown }).params;
  const meta = typeof params === 'object' && params !== null ? (params as { _meta?: unknown })._meta : undefined;
  return typeof meta === 'object' && meta !== null && protocolVersionMetaKey in meta;
}

/** The version a 2026-era request claims: its header, else its `_meta`. */
function claimedVersion(request: Request, body: unknown): string | undefined {
  const header = request.headers.get('mcp-protocol-version');
  if (header !== undefined) return header;
  const params = (body as { params?: { _meta?: Record<string, unknown> } } | null)?.params;
  const version = params?._meta?.[protocolVersionMetaKey];
  return typeof version === 'string' ? version : undefined;
}
