import type { Request, Router } from '@mummyx/core';
import { checkCredentials } from './auth.js';
import { corsHeaders, respondPreflight, type CorsOptions } from './cors.js';
import type { EndpointContext } from './endpoint-context.js';
import { InMemoryEventStore, type EventStore } from './event-store.js';
import { refusalReason } from './host-origin-guard.js';
import { ErrorCode, respondError } from './json-rpc.js';
import { LegacySseEndpoint, legacySessionKey } from './legacy-sse/endpoint.js';
import type { AuthInfo } from './mcp-types.js';
import { SessionRegistry, type SessionCloseReason } from './session-registry.js';
import type { McpServerLike, McpSessionInfo } from './session-transport.js';
import { StreamableHttpEndpoint, streamableSessionKey } from './streamable-http/endpoint.js';
import { WebSocketEndpoint } from './websocket/endpoint.js';

export interface McpMountOptions {
  /** Makes the MCP server for a new session (one per session: the SDK's servers hold one transport). */
  createServer: (session: McpSessionInfo) => McpServerLike | Promise<McpServerLike>;
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
  /** A session without requests or open streams for this long is closed. Default 1 800 000 (30 min); 0 never. */
  sessionIdleTimeoutMs?: number;
  /** Sessions open at once (per thread in threaded mode); more get 503. Default 10 000. */
  maxSessions?: number;
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
  /** Runs on the thread that owns the session once it is initialised. */
  onSessionCreated?: (session: McpSessionInfo) => void;
  /** Runs on the thread that owned the session, with why it closed. */
  onSessionClosed?: (session: McpSessionInfo, reason: SessionCloseReason) => void;
  /** Where transport problems are reported. Default: stderr. */
  log?: (message: string) => void;
}

/** What `mountMcp` returns: this thread's view of its sessions. */
export interface McpMount {
  /** Sessions open on this thread. */
  readonly sessionCount: number;
  /** Session ids open on this thread. */
  sessionIds(): string[];
  /** Closes every session on this thread. */
  close(): Promise<void>;
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
  const sessions = new SessionRegistry({
    createServer: options.createServer,
    maxSessions: o.maxSessions,
    sessionIdleTimeoutMs: o.sessionIdleTimeoutMs,
    onSessionCreated: options.onSessionCreated,
    onSessionClosed: options.onSessionClosed,
    log: o.log,
  });
  const context: EndpointContext = {
    sessions,
    corsHeaders: (request) => corsHeaders(request, options.cors),
    maxMessageBytes: o.maxMessageBytes,
    log: o.log,
  };
  const guarded = guard(options, context);

  const streamable = new StreamableHttpEndpoint(context, {
    createServer: options.createServer,
    stateless: o.stateless,
    enableJsonResponse: o.enableJsonResponse,
    eventStore: o.eventStore,
    retryIntervalMs: o.retryIntervalMs,
    resumeGraceMs: o.resumeGraceMs,
  });
  // Stateless requests have no session: they spread over every worker.
  const sticky = o.stateless ? {} : { session: streamableSessionKey };
  router.post(o.path, (request) => guarded(request, () => streamable.post(request)), sticky);
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

  return {
    get sessionCount() {
      return sessions.size;
    },
    sessionIds: () => sessions.ids(),
    close: () => sessions.closeAll(),
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
    sessionIdleTimeoutMs: nonNegative('sessionIdleTimeoutMs', options.sessionIdleTimeoutMs, 30 * 60_000),
    maxSessions: nonNegative('maxSessions', options.maxSessions, 10_000),
    maxMessageBytes: nonNegative('maxMessageBytes', options.maxMessageBytes, 4 * mib),
    log: options.log ?? ((message: string) => process.stderr.write(`mcp: ${message}\n`)),
  };
  const eventStore =
    options.eventStore === false || stateless ? undefined : (options.eventStore ?? new InMemoryEventStore());
  return { ...resolved, eventStore };
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`mountMcp: ${name} must be a non-negative number`);
  return value;
}
