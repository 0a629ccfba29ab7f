import { sharedCount, sharedInt32Array, type Request, type Router } from '@mummyx/core';
import { authInfoOf, checkCredentials } from './auth.js';
import { corsHeaders, respondPreflight, type CorsOptions } from './cors.js';
import type { EndpointContext } from './endpoint-context.js';
import { ChannelEventBus, type ChangeEvent } from './event-bus.js';
import { InMemoryEventStore, type EventStore } from './event-store.js';
import { refusalReason } from './host-origin-guard.js';
import { ErrorCode, respondError } from './json-rpc.js';
import { LegacySseEndpoint, legacySessionKey } from './legacy-sse/endpoint.js';
import type { AuthInfo } from './mcp-types.js';
import { LazyRequestStateCodec, requestStateKeyOf, type RequestStateCodec } from './request-state.js';
import { ServerFactory, type CacheHint, type CacheableMethod, type CreateServer } from './server-factory.js';
import { SessionRegistry, type SessionCloseReason } from './session-registry.js';
import { isLoopback, SessionRate } from './session-rate.js';
import type { McpSessionInfo } from './session-transport.js';
import { postSessionKey, StreamableHttpEndpoint, streamableSessionKey } from './streamable-http/endpoint.js';
import { Era2026, type ModernOptions } from './streamable-http/era-2026.js';
import type { McpTasksOptions } from './tasks/tasks-extension.js';
import type { TaskStore } from './tasks/task-store.js';
import { WebSocketEndpoint } from './websocket/endpoint.js';

export interface McpMountOptions {
  /**
   * Makes an MCP server (`McpServer` or low-level `Server`, of
   * `@modelcontextprotocol/sdk` 1.x or `@modelcontextprotocol/server` 2.x):
   * one per 2025-era session (a server holds one transport), and, with SDK
   * 2.x, one per 2026-07-28 request (`ctx.era === 'modern'`; the SDK's
   * model: keep it cheap, build schemas at module scope). With SDK 2.x,
   * spread `ctx.serverOptions` into the server's options.
   */
  createServer: CreateServer;
  /** Streamable HTTP endpoint. Default `/mcp`. */
  path?: string;
  /** Legacy HTTP+SSE stream (protocol 2024-11-05); false to leave it out. Default `/sse`. */
  ssePath?: string | false;
  /** Where legacy SSE clients POST their messages. Default `/messages`. */
  messagesPath?: string;
  /** WebSocket endpoint (subprotocol `mcp`); false to leave it out. Default `/ws`. */
  websocketPath?: string | false;
  /** A JSON health check, answered on the IO thread; false to leave it out. Default `/health`. */
  healthPath?: string | false;
  /**
   * No sessions: every POST gets a fresh server, requests spread over all
   * workers, GET and DELETE answer 405. Default false.
   */
  stateless?: boolean;
  /** Answer POSTs with `application/json` instead of an SSE stream. Default false. */
  enableJsonResponse?: boolean;
  /**
   * Keeps server-to-client events so a client that lost a stream resumes it
   * with `Last-Event-ID`. Default: a bounded `InMemoryEventStore` per thread;
   * false turns resumption off (a dropped POST stream then cancels its requests).
   */
  eventStore?: EventStore | false;
  /** The `retry:` reconnection delay sent in priming events, in ms. Default 1 000. */
  retryIntervalMs?: number;
  /**
   * How long the requests of a dropped POST stream keep running while the
   * client may resume it; then they are cancelled (`extra.signal` aborts).
   * Without an event store they are cancelled at once. Default 10 000.
   */
  resumeGraceMs?: number;
  /**
   * A session without requests or open streams for this long is closed (its
   * client gets 404 and starts a new one). Default 600 000 (10 min); 0 never.
   */
  sessionIdleTimeoutMs?: number;
  /**
   * Sessions open at once in the whole server — on every worker thread of a
   * threaded one (a worker that exits takes its sessions out of the count);
   * more get 503 with `Retry-After`. A
   * session costs what its MCP server holds (the demo's: about 23 KB of heap,
   * 50 KB of RSS) plus its transport (a few KB). When several threads open
   * sessions at the same instant it may be passed by one per thread. Default 1 000.
   */
  maxSessions?: number;
  /**
   * New sessions one client address may open per minute (a fixed window,
   * counted for the whole server); more get 429 with `Retry-After`. `exempt`
   * names addresses the limit skips. Default `{ perMinute: 30, exempt }` with
   * loopback addresses (127.0.0.0/8, ::1) exempt: clients on this machine are
   * bounded by `maxSessions` only. `false`: no limit.
   */
  sessionRateLimit?: { perMinute?: number; exempt?: (remoteAddress: string) => boolean } | false;
  /** Largest POST body, in bytes (the server's `maxBodyBytes` applies first). Default 4 MiB. */
  maxMessageBytes?: number;
  /** Host names (or `host:port`) accepted in `Host`; `'*'` for any. Default: localhost, 127.0.0.1 and [::1]. */
  allowedHosts?: readonly string[] | '*';
  /** Exact origins accepted in `Origin`; `'*'` for any. Default: loopback origins and same-origin requests. */
  allowedOrigins?: readonly string[] | '*';
  /**
   * Checks credentials (e.g. a bearer token) and returns what tools see as
   * `extra.authInfo`; undefined (or a throw) answers 401 with `WWW-Authenticate`.
   */
  authenticate?: (request: Request) => AuthInfo | undefined | Promise<AuthInfo | undefined>;
  /** Protected Resource Metadata URL, named in `WWW-Authenticate` on a 401. */
  resourceMetadataUrl?: string;
  /** CORS for browser clients; `Mcp-Session-Id` is exposed. Default off. */
  cors?: CorsOptions;
  /**
   * The HMAC key of `requestState` (multi-round-trip requests, 2026-07-28),
   * at least 32 bytes (a string counts as UTF-8). Every worker, and every
   * node behind a balancer, must have the same one: a retry may reach any of
   * them. Default: one random key per process, the same on every worker
   * thread (enough for one machine; set it for several).
   */
  requestStateKey?: string | Uint8Array;
  /** How long a minted `requestState` stays valid, in seconds. Default 600. */
  requestStateTtlSeconds?: number;
  /**
   * Caching hints (`ttlMs`, `cacheScope`) of 2026-07-28 results, per method,
   * used when a result carries none of its own; handed to SDK 2.x servers in
   * `ctx.serverOptions`. Default: none (`ttlMs: 0`, `cacheScope: 'private'`).
   */
  cacheHints?: Partial<Record<CacheableMethod, CacheHint>>;
  /**
   * The 2026-07-28 leg of the Streamable HTTP path (SDK 2.x servers only):
   * how it answers (`responseMode` `'auto'`: JSON unless the tool sends
   * progress or logs first, then SSE; `'sse'`: always SSE), its SSE
   * keep-alive interval (`keepAliveMs`, default 15 000; 0 none), and how
   * many `subscriptions/listen` streams one thread keeps open
   * (`maxSubscriptions`, default 1 024). `false` answers every 2026-era
   * request as a 2025-only server does (400 / -32000), so clients fall back
   * to `initialize`. Default: on.
   */
  modern?: { responseMode?: 'auto' | 'sse'; keepAliveMs?: number; maxSubscriptions?: number } | false;
  /**
   * Serves the Tasks extension (`io.modelcontextprotocol/tasks`) on the
   * 2026-07-28 path, with SDK 2.x servers: a call of a task tool from a
   * client that declared the extension on the request is answered at once
   * with a task handle (`resultType: "task"`), stored before the answer
   * goes out, and runs on, as a plain call of the tool, on the thread that
   * got it; the client polls `tasks/get` (from any worker), answers the
   * tool's input requests with `tasks/update`, stops it with `tasks/cancel`,
   * or listens for `notifications/tasks` on `subscriptions/listen`. The
   * extension is advertised in `server/discover`. 2025-era sessions and
   * the WebSocket endpoint run every tool as a plain call. Default: off.
   */
  tasks?: McpTasksOptions;
  /**
   * Serve 2026-07-28 requests with servers kept from earlier ones instead of
   * a fresh server each (SDK 2.x builds one per request; keeping them saves
   * making and registering it, about half of a small tool call's CPU). Each
   * thread keeps up to 64 idle servers, and a server serves one request at a
   * time. A server is kept only after an exchange that ended normally with a
   * JSON answer (or none); one whose answer was a stream, a failure or a
   * cancellation is dropped, and a request that does not name its client
   * (`clientInfo` in `_meta`) gets a fresh one. Turn it on only when
   * `createServer` makes the same server for every 2026-era request: it is
   * then not called for a request served by a kept server, so a server must
   * not depend on `ctx.id`, `ctx.authInfo` or `ctx.protocolVersion` (tools
   * read the request's `authInfo` from their `extra` as always), and a tool
   * must not keep using its request's `extra` after it returned. 2025-era
   * sessions are not affected. Default false.
   */
  reuseServers?: boolean;
  /** Runs on the thread that owns the session once it is initialised. */
  onSessionCreated?: (session: McpSessionInfo) => void;
  /** Runs on the thread that owned the session, with why it closed. */
  onSessionClosed?: (session: McpSessionInfo, reason: SessionCloseReason) => void;
  /** Where transport problems are reported. Default: stderr. */
  log?: (message: string) => void;
}

/** Announces changes to the clients of a mount, on every thread. */
export interface McpNotifier {
  /** `notifications/tools/list_changed`. */
  toolsChanged(): void;
  /** `notifications/prompts/list_changed`. */
  promptsChanged(): void;
  /** `notifications/resources/list_changed`. */
  resourcesChanged(): void;
  /** `notifications/resources/updated` for `uri`. */
  resourceUpdated(uri: string): void;
}

/** What `mountMcp` returns: this thread's view of the mount. */
export interface McpMount {
  /** Sessions open on this thread. */
  readonly sessionCount: number;
  /** Session ids open on this thread. */
  sessionIds(): string[];
  /**
   * Change notifications, callable from any thread (a tool on any worker):
   * each reaches every 2026-07-28 `subscriptions/listen` stream of this
   * mount on every thread (as each client filtered it), and every 2025-era
   * session of the mount on every thread whose server declared `listChanged`
   * for that list, or whose client subscribed to that resource.
   */
  readonly notify: McpNotifier;
  /**
   * The `requestState` codec with the mount's key (SDK 2.x
   * `createRequestStateCodec`): tools `mint` the state they return with
   * `inputRequired(...)`; servers made with `ctx.serverOptions` verify it (its methods are bound: pass
   * `{ verify: mount.requestState.verify }` on its own if you build the options yourself).
   * Rejects with `MX_ERR_SDK_MISSING` when `@modelcontextprotocol/server`
   * is not installed.
   */
  readonly requestState: RequestStateCodec;
  /** The Tasks extension on this thread, when the mount serves it. */
  readonly tasks: McpTasksView | undefined;
  /**
   * Closes every session on this thread, aborts its 2026-era requests in
   * flight and ends its listen streams; the tasks whose tools run on this
   * thread end `failed` ("The server closed before the task finished").
   */
  close(): Promise<void>;
}

/** A mount's tasks, as one thread sees them. */
export interface McpTasksView {
  /** The store the mount's tasks live in (by default shared by every thread of the process). */
  readonly store: TaskStore;
  /** Tasks whose tool runs on this thread now. */
  readonly runningCount: number;
}

const mib = 1024 * 1024;

/**
 * Serves MCP on a core router: Streamable HTTP at `path`, legacy HTTP+SSE at
 * `ssePath` + `messagesPath`, WebSocket at `websocketPath`. Call it in the
 * app module; in threaded mode every worker runs it, and each session lives
 * on one worker (its routes carry the `session` option), so a tool that
 * blocks its thread stalls only its own session.
 */
export function mountMcp(router: Router, options: McpMountOptions): McpMount {
  const o = resolveOptions(options);
  const codec = new LazyRequestStateCodec(o.requestStateKey, o.requestStateTtlSeconds);
  const factory = new ServerFactory(options.createServer, codec, options.cacheHints);
  const createServer = (info: McpSessionInfo, request: Request) => factory.create(info, 'legacy', authInfoOf(request));
  // Counted for the whole server: each of its workers runs this mount, with a registry of its own.
  const shared = `@mummyx/mcp-transport:${o.path}`;
  const sessions = new SessionRegistry({
    createServer,
    maxSessions: o.maxSessions,
    openSessions: sharedCount(`${shared}:sessions`),
    rate:
      o.sessionRateLimit === undefined
        ? undefined
        : new SessionRate(
            sharedInt32Array(`${shared}:session-rate`, 4_096),
            o.sessionRateLimit.perMinute,
            o.sessionRateLimit.exempt,
          ),
    sessionsPerMinute: o.sessionRateLimit?.perMinute ?? 0,
    sessionIdleTimeoutMs: o.sessionIdleTimeoutMs,
    onSessionCreated: options.onSessionCreated,
    onSessionClosed: options.onSessionClosed,
    log: o.log,
  });
  const bus = new ChannelEventBus(o.path, o.log);
  bus.subscribe((event) => sessions.announce(event));
  const context: EndpointContext = {
    sessions,
    factory,
    corsHeaders: (request) => corsHeaders(request, options.cors),
    maxMessageBytes: o.maxMessageBytes,
    log: o.log,
  };
  const guarded = guard(options, context);

  const era2026 = new Era2026(
    context,
    factory,
    bus,
    o.modern,
    options.tasks === undefined ? undefined : { name: o.path, options: options.tasks },
  );
  const tasks = era2026.tasks;
  const streamable = new StreamableHttpEndpoint(
    context,
    {
      createServer,
      stateless: o.stateless,
      enableJsonResponse: o.enableJsonResponse,
      eventStore: o.eventStore,
      retryIntervalMs: o.retryIntervalMs,
      resumeGraceMs: o.resumeGraceMs,
    },
    era2026,
  );
  // Stateless requests have no session: they spread over every worker.
  const sticky = o.stateless ? {} : { session: streamableSessionKey };
  router.post(
    o.path,
    (request) => guarded(request, () => streamable.post(request)),
    o.stateless ? {} : { session: postSessionKey },
  );
  router.get(o.path, (request) => guarded(request, () => streamable.get(request)), sticky);
  router.delete(o.path, (request) => guarded(request, () => streamable.delete(request)), sticky);
  if (o.ssePath !== undefined) {
    const legacy = new LegacySseEndpoint(context, o.messagesPath);
    router.get(o.ssePath, (request) => guarded(request, () => legacy.open(request)), { session: newSession });
    router.post(o.messagesPath, (request) => guarded(request, () => legacy.post(request)), {
      session: legacySessionKey,
    });
  }
  if (o.websocketPath !== undefined) {
    const websocket = new WebSocketEndpoint(context);
    router.get(o.websocketPath, (request) => guarded(request, () => websocket.open(request)), {
      session: newSession,
    });
  }
  if (o.healthPath !== undefined) {
    router.get(
      o.healthPath,
      (request) => {
        request.respond(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }, '{"status":"ok"}');
      },
      { inline: true },
    );
  }
  const cors = options.cors;
  if (cors !== undefined) {
    for (const path of [o.path, o.ssePath, o.messagesPath]) {
      if (path !== undefined) router.options(path, (request) => respondPreflight(request, cors), { inline: true });
    }
  }

  const publish = (event: ChangeEvent): void => bus.publish(event);
  return {
    get sessionCount() {
      return sessions.size;
    },
    sessionIds: () => sessions.ids(),
    notify: {
      toolsChanged: () => publish({ kind: 'tools_list_changed' }),
      promptsChanged: () => publish({ kind: 'prompts_list_changed' }),
      resourcesChanged: () => publish({ kind: 'resources_list_changed' }),
      resourceUpdated: (uri) => {
        if (typeof uri !== 'string') throw new TypeError('resourceUpdated needs the resource URI');
        publish({ kind: 'resource_updated', uri });
      },
    },
    requestState: codec,
    tasks:
      tasks === undefined
        ? undefined
        : {
            store: tasks.store,
            get runningCount() {
              return tasks.runningCount;
            },
          },
    close: async () => {
      await Promise.all([sessions.closeAll(), era2026.close()]);
      bus.close();
    },
  };
}

/** A route that opens a new session: no key yet, so in threaded mode it goes to the worker holding the fewest. */
function newSession(): undefined {
  return undefined;
}

/** Host/Origin checks (403), then authentication (401), around an MCP handler. */
function guard(options: McpMountOptions, context: EndpointContext) {
  return async (request: Request, run: () => Promise<void> | void): Promise<void> => {
    const refusal = refusalReason(request, options);
    if (refusal !== undefined) {
      respondError(request, 403, ErrorCode.ConnectionClosed, refusal);
      return;
    }
    if (!(await checkCredentials(request, options, context.corsHeaders(request), context.log))) return;
    await run();
  };
}

/** The options with their defaults, checked; a path left out is undefined. */
function resolveOptions(options: McpMountOptions) {
  if (typeof options?.createServer !== 'function') {
    throw new TypeError('mountMcp: createServer must be a function returning an McpServer');
  }
  const stateless = options.stateless === true;
  const resolved = {
    path: options.path ?? '/mcp',
    ssePath: options.ssePath === false ? undefined : (options.ssePath ?? '/sse'),
    messagesPath: options.messagesPath ?? '/messages',
    websocketPath: options.websocketPath === false ? undefined : (options.websocketPath ?? '/ws'),
    healthPath: options.healthPath === false ? undefined : (options.healthPath ?? '/health'),
    stateless,
    enableJsonResponse: options.enableJsonResponse === true,
    retryIntervalMs: nonNegative('retryIntervalMs', options.retryIntervalMs, 1_000),
    resumeGraceMs: nonNegative('resumeGraceMs', options.resumeGraceMs, 10_000),
    sessionIdleTimeoutMs: nonNegative('sessionIdleTimeoutMs', options.sessionIdleTimeoutMs, 10 * 60_000),
    maxSessions: nonNegative('maxSessions', options.maxSessions, 1_000),
    sessionRateLimit: sessionRateOf(options.sessionRateLimit),
    maxMessageBytes: nonNegative('maxMessageBytes', options.maxMessageBytes, 4 * mib),
    log: options.log ?? ((message: string) => process.stderr.write(`mcp: ${message}\n`)),
  };
  const eventStore =
    options.eventStore === false || stateless ? undefined : (options.eventStore ?? new InMemoryEventStore());
  const modern = options.modern;
  const resolvedModern: ModernOptions | undefined =
    modern === false
      ? undefined
      : {
          responseMode: modern?.responseMode ?? 'auto',
          keepAliveMs: nonNegative('modern.keepAliveMs', modern?.keepAliveMs, 15_000),
          maxSubscriptions: nonNegative('modern.maxSubscriptions', modern?.maxSubscriptions, 1_024),
          reuseServers: options.reuseServers === true,
        };
  if (resolvedModern !== undefined && resolvedModern.responseMode !== 'auto' && resolvedModern.responseMode !== 'sse') {
    throw new RangeError("mountMcp: modern.responseMode must be 'auto' or 'sse'");
  }
  return {
    ...resolved,
    eventStore,
    modern: resolvedModern,
    requestStateKey: requestStateKeyOf(options.requestStateKey),
    requestStateTtlSeconds: positive('requestStateTtlSeconds', options.requestStateTtlSeconds, 600),
  };
}

function sessionRateOf(
  limit: McpMountOptions['sessionRateLimit'],
): { perMinute: number; exempt: (remoteAddress: string) => boolean } | undefined {
  if (limit === false) return undefined;
  const perMinute = positive('sessionRateLimit.perMinute', limit?.perMinute, 30);
  const exempt = limit?.exempt ?? isLoopback;
  if (typeof exempt !== 'function') throw new TypeError('mountMcp: sessionRateLimit.exempt must be a function');
  return { perMinute, exempt };
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`mountMcp: ${name} must be a non-negative number`);
  return value;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`mountMcp: ${name} must be a positive number`);
  return value;
}
