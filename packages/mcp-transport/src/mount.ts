import { randomUUID } from 'node:crypto';
import type { Request, Router, WebSocket, WebSocketEvent, WebSocketMessage } from '@mummyx/core';
import { checkCredentials } from './auth.js';
import { corsHeaders, respondPreflight, type CorsOptions } from './cors.js';
import type { EndpointContext } from './endpoint-context.js';
import { InMemoryEventStore, type EventStore } from './event-store.js';
import { refusalReason } from './host-origin-guard.js';
import {
  ErrorCode,
  askedVersion,
  errorBody,
  isInitialize,
  isJsonRpcMessage,
  readMessages,
  respondError,
} from './json-rpc.js';
import { messageExtra } from './message-extra.js';
import type { AuthInfo, JSONRPCMessage, MessageExtraInfo } from './sdk-v1.js';
import { SessionRegistry, type Session, type SessionCloseReason } from './session-registry.js';
import type { McpServerLike, McpSessionInfo } from './session-transport.js';
import { LegacySseTransport, WebSocketTransport } from './session.js';
import { StreamableHttpEndpoint, streamableSessionKey } from './streamable-http/endpoint.js';

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
  const mount = new Mount(options);
  mount.register(router);
  return mount;
}

class Mount implements McpMount {
  readonly #o: Required<
    Pick<
      McpMountOptions,
      | 'path'
      | 'messagesPath'
      | 'retryIntervalMs'
      | 'resumeGraceMs'
      | 'sessionIdleTimeoutMs'
      | 'maxSessions'
      | 'maxMessageBytes'
    >
  > &
    McpMountOptions;
  readonly #sessions: SessionRegistry;
  readonly #log: (message: string) => void;
  readonly #streamable: StreamableHttpEndpoint;

  constructor(options: McpMountOptions) {
    if (typeof options?.createServer !== 'function') {
      throw new TypeError('mountMcp: createServer must be a function returning an McpServer');
    }
    this.#o = {
      ...options,
      path: options.path ?? '/mcp',
      messagesPath: options.messagesPath ?? '/messages',
      retryIntervalMs: nonNegative('retryIntervalMs', options.retryIntervalMs, 1_000),
      resumeGraceMs: nonNegative('resumeGraceMs', options.resumeGraceMs, 10_000),
      sessionIdleTimeoutMs: nonNegative('sessionIdleTimeoutMs', options.sessionIdleTimeoutMs, 30 * 60_000),
      maxSessions: nonNegative('maxSessions', options.maxSessions, 10_000),
      maxMessageBytes: nonNegative('maxMessageBytes', options.maxMessageBytes, 4 * mib),
    };
    const eventStore =
      options.eventStore === false || options.stateless === true
        ? undefined
        : (options.eventStore ?? new InMemoryEventStore());
    this.#log = options.log ?? ((message) => process.stderr.write(`mcp: ${message}\n`));
    this.#sessions = new SessionRegistry({
      createServer: options.createServer,
      maxSessions: this.#o.maxSessions,
      sessionIdleTimeoutMs: this.#o.sessionIdleTimeoutMs,
      onSessionCreated: options.onSessionCreated,
      onSessionClosed: options.onSessionClosed,
      log: this.#log,
    });
    const context: EndpointContext = {
      sessions: this.#sessions,
      corsHeaders: (request) => this.#corsHeaders(request),
      maxMessageBytes: this.#o.maxMessageBytes,
      log: this.#log,
    };
    this.#streamable = new StreamableHttpEndpoint(context, {
      createServer: options.createServer,
      stateless: options.stateless === true,
      enableJsonResponse: options.enableJsonResponse === true,
      eventStore,
      retryIntervalMs: this.#o.retryIntervalMs,
      resumeGraceMs: this.#o.resumeGraceMs,
    });
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  sessionIds(): string[] {
    return this.#sessions.ids();
  }

  close(): Promise<void> {
    return this.#sessions.closeAll();
  }

  register(router: Router): void {
    const o = this.#o;
    const byQuery = (request: Request): string | undefined => request.query.get('sessionId') ?? undefined;
    const newSession = (): undefined => undefined;
    const sticky = o.stateless === true ? {} : { session: streamableSessionKey };
    router.post(o.path, (request) => this.#guarded(request, () => this.#streamable.post(request)), sticky);
    router.get(o.path, (request) => this.#guarded(request, () => this.#streamable.get(request)), sticky);
    router.delete(o.path, (request) => this.#guarded(request, () => this.#streamable.delete(request)), sticky);
    if (o.ssePath !== false) {
      router.get(o.ssePath ?? '/sse', (request) => this.#guarded(request, () => this.#openLegacy(request)), {
        session: newSession,
      });
      router.post(o.messagesPath, (request) => this.#guarded(request, () => this.#postLegacy(request)), {
        session: byQuery,
      });
    }
    if (o.websocketPath !== false) {
      router.get(o.websocketPath ?? '/ws', (request) => this.#guarded(request, () => this.#openWebSocket(request)), {
        session: newSession,
      });
    }
    if (o.healthPath !== false) {
      router.get(
        o.healthPath ?? '/health',
        (request) => {
          request.respond(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }, '{"status":"ok"}');
        },
        { inline: true },
      );
    }
    if (o.cors !== undefined) {
      const paths = [o.path, o.ssePath === false ? undefined : (o.ssePath ?? '/sse'), o.messagesPath];
      for (const path of paths) {
        if (path !== undefined) router.options(path, (request) => respondPreflight(request, o.cors), { inline: true });
      }
    }
  }

  // ── cross-cutting ─────────────────────────────────────────────────────────

  #corsHeaders(request: Request): Record<string, string> {
    return corsHeaders(request, this.#o.cors);
  }

  /** Host/Origin checks, authentication and CORS headers around a handler. */
  async #guarded(request: Request, run: () => Promise<void> | void): Promise<void> {
    const refusal = refusalReason(request, this.#o);
    if (refusal !== undefined) {
      respondError(request, 403, ErrorCode.ConnectionClosed, refusal);
      return;
    }
    if (!(await checkCredentials(request, this.#o, this.#corsHeaders(request), this.#log))) return;
    await run();
  }

  // ── legacy HTTP+SSE (2024-11-05) ──────────────────────────────────────────

  async #openLegacy(request: Request): Promise<void> {
    const cors = this.#corsHeaders(request);
    if (this.#sessions.refuseWhenFull(request, cors)) return;
    const id = randomUUID();
    const stream = request.respondSSE({ headers: cors });
    const transport = new LegacySseTransport(id, stream);
    stream.onClose(() => {
      const session = this.#sessions.get(id);
      if (session !== undefined) void this.#sessions.close(session, 'disconnected');
    });
    const session = await this.#sessions.start(request, 'sse', id, transport, '2024-11-05');
    stream.send({ event: 'endpoint', data: `${this.#o.messagesPath}?sessionId=${encodeURIComponent(id)}` });
    this.#sessions.created(session);
  }

  #postLegacy(request: Request): void {
    const cors = this.#corsHeaders(request);
    const id = request.query.get('sessionId');
    if (id === null || id === '') {
      respondError(
        request,
        400,
        ErrorCode.ConnectionClosed,
        'Bad Request: the sessionId query parameter is required',
        cors,
      );
      return;
    }
    const session = this.#sessions.get(id);
    if (session === undefined || session.info.transport !== 'sse') {
      respondError(request, 404, ErrorCode.SessionNotFound, 'Session not found', cors);
      return;
    }
    const parsed = readMessages(request, cors, this.#o.maxMessageBytes);
    if (parsed === undefined) return;
    this.#sessions.touch(session);
    request.respond(202, { 'Content-Type': 'text/plain; charset=utf-8', ...cors }, 'Accepted');
    const extra = messageExtra(request);
    for (const message of parsed.messages) session.transport.receive(message, extra);
  }

  // ── WebSocket ─────────────────────────────────────────────────────────────

  async #openWebSocket(request: Request): Promise<void> {
    const cors = this.#corsHeaders(request);
    if (!request.isUpgrade) {
      request.respond(
        426,
        { 'Content-Type': 'text/plain; charset=utf-8', Upgrade: 'websocket', ...cors },
        'Upgrade Required: connect with a WebSocket and the mcp subprotocol\n',
      );
      return;
    }
    const offered = (request.headers.get('sec-websocket-protocol') ?? '').split(',').map((p) => p.trim());
    if (!offered.includes('mcp')) {
      request.respond(
        400,
        { 'Content-Type': 'text/plain; charset=utf-8' },
        'Bad Request: the WebSocket must ask for the mcp subprotocol (Sec-WebSocket-Protocol: mcp)\n',
      );
      return;
    }
    if (this.#sessions.refuseWhenFull(request, cors)) return;
    const id = randomUUID();
    const extra = messageExtra(request);
    // Events can arrive before the session exists: they see it once it does.
    const state: { session: Session | undefined } = { session: undefined };
    const pending: JSONRPCMessage[] = [];
    const socket = request.upgradeToWebSocket({
      protocol: 'mcp',
      handler: (websocket, event, message) =>
        this.#onSocketEvent(websocket, event, message, state.session, pending, extra),
    });
    const transport = new WebSocketTransport(id, socket);
    const session = await this.#sessions.start(request, 'websocket', id, transport, undefined);
    state.session = session;
    this.#sessions.created(session);
    if (socket.closed) {
      await this.#sessions.close(session, 'disconnected');
      return;
    }
    // Messages that arrived while the server was being made.
    for (const message of pending.splice(0)) transport.receive(message, extra);
  }

  #onSocketEvent(
    websocket: WebSocket,
    event: WebSocketEvent,
    message: WebSocketMessage,
    session: Session | undefined,
    pending: JSONRPCMessage[],
    extra: MessageExtraInfo,
  ): void {
    if (event === 'close') {
      if (session !== undefined) void this.#sessions.close(session, 'disconnected');
      return;
    }
    if (event !== 'message' || message === undefined) return;
    if (message.kind !== 'text') {
      websocket.close(1003, 'MCP messages are JSON text frames');
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(message.data);
    } catch (error) {
      websocket.send(errorBody(ErrorCode.ParseError, `Parse error: ${(error as Error).message}`));
      return;
    }
    if (!isJsonRpcMessage(value)) {
      websocket.send(errorBody(ErrorCode.InvalidRequest, 'Invalid Request: one JSON-RPC 2.0 message per frame'));
      return;
    }
    if (session === undefined) {
      pending.push(value);
      return;
    }
    this.#sessions.touch(session);
    if (session.info.protocolVersion === undefined && isInitialize(value)) {
      session.info.protocolVersion = askedVersion(value);
    }
    session.transport.receive(value, extra);
  }
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`mountMcp: ${name} must be a non-negative number`);
  return value;
}
