import { randomUUID } from 'node:crypto';
import type { Request, Router, WebSocket, WebSocketEvent, WebSocketMessage } from '@mummyx/core';
import { checkCredentials } from './auth.js';
import { corsHeaders, respondPreflight, type CorsOptions } from './cors.js';
import { InMemoryEventStore, type EventStore } from './event-store.js';
import { refusalReason } from './host-origin-guard.js';
import {
  ErrorCode,
  askedVersion,
  errorBody,
  hasMediaType,
  isInitialize,
  isJsonRpcMessage,
  readMessages,
  requestIds,
  respondError,
} from './json-rpc.js';
import { messageExtra } from './message-extra.js';
import {
  DEFAULT_NEGOTIATED_PROTOCOL_VERSION,
  SUPPORTED_PROTOCOL_VERSIONS,
  type AuthInfo,
  type JSONRPCMessage,
  type MessageExtraInfo,
} from './sdk-v1.js';
import { SessionRegistry, type Session, type SessionCloseReason } from './session-registry.js';
import type { McpServerLike, McpSessionInfo } from './session-transport.js';
import { JsonOutlet, LegacySseTransport, SseOutlet, StreamableTransport, WebSocketTransport } from './session.js';

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

const supportedVersions = new Set(SUPPORTED_PROTOCOL_VERSIONS);
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
  readonly #eventStore: EventStore | undefined;
  readonly #log: (message: string) => void;

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
    this.#eventStore =
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
    const bySessionHeader = (request: Request): string | undefined => request.headers.get('mcp-session-id');
    const byQuery = (request: Request): string | undefined => request.query.get('sessionId') ?? undefined;
    const newSession = (): undefined => undefined;
    const sticky = o.stateless === true ? {} : { session: bySessionHeader };
    router.post(o.path, (request) => this.#guarded(request, () => this.#post(request)), sticky);
    router.get(o.path, (request) => this.#guarded(request, () => this.#get(request)), sticky);
    router.delete(o.path, (request) => this.#guarded(request, () => this.#delete(request)), sticky);
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

  /** `MCP-Protocol-Version`: absent means 2025-03-26; an unsupported one is refused. */
  #checkVersion(request: Request, headers: Record<string, string>): string | false {
    const version = request.headers.get('mcp-protocol-version');
    if (version === undefined) return DEFAULT_NEGOTIATED_PROTOCOL_VERSION;
    if (supportedVersions.has(version)) return version;
    respondError(
      request,
      400,
      ErrorCode.ConnectionClosed,
      `Bad Request: Unsupported protocol version: ${version} (supported versions: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')})`,
      headers,
    );
    return false;
  }

  // ── Streamable HTTP ───────────────────────────────────────────────────────

  async #post(request: Request): Promise<void> {
    const cors = this.#corsHeaders(request);
    const accept = request.headers.get('accept');
    if (!hasMediaType(accept, 'application/json') || !hasMediaType(accept, 'text/event-stream')) {
      respondError(
        request,
        406,
        ErrorCode.ConnectionClosed,
        'Not Acceptable: Client must accept both application/json and text/event-stream',
        cors,
      );
      return;
    }
    const parsed = readMessages(request, cors, this.#o.maxMessageBytes);
    if (parsed === undefined) return;
    const messages = parsed.messages;
    const initialize = messages.find(isInitialize);
    let version: string | false;
    if (initialize !== undefined) {
      if (messages.length > 1) {
        respondError(
          request,
          400,
          ErrorCode.InvalidRequest,
          'Invalid Request: initialize must be the only message in its request',
          cors,
        );
        return;
      }
      const asked = askedVersion(initialize);
      version = asked !== undefined && supportedVersions.has(asked) ? asked : DEFAULT_NEGOTIATED_PROTOCOL_VERSION;
    } else {
      version = this.#checkVersion(request, cors);
      if (version === false) return;
    }

    if (this.#o.stateless === true) {
      await this.#postStateless(request, messages, parsed.batch, version, cors);
      return;
    }

    let session: Session | undefined;
    const sessionId = request.headers.get('mcp-session-id');
    if (initialize !== undefined) {
      const existing = sessionId === undefined ? undefined : this.#sessions.get(sessionId);
      if (existing !== undefined) {
        respondError(request, 400, ErrorCode.InvalidRequest, 'Invalid Request: Server already initialized', cors);
        return;
      }
      if (this.#sessions.refuseWhenFull(request, cors)) return;
      const id = randomUUID();
      const transport = new StreamableTransport(id, {
        eventStore: this.#eventStore,
        retryIntervalMs: this.#o.retryIntervalMs,
        resumeGraceMs: this.#o.resumeGraceMs,
        log: this.#log,
      });
      session = await this.#sessions.start(request, 'streamable-http', id, transport, version);
    } else {
      session = this.#sessionFor(request, sessionId, cors);
      if (session === undefined) return;
    }
    this.#sessions.touch(session);
    const transport = session.transport as StreamableTransport;
    const headers = { 'Mcp-Session-Id': session.info.id, ...cors };
    const extra = messageExtra(request);
    const ids = requestIds(messages);
    for (const id of ids) {
      if (transport.isPending(id)) {
        respondError(
          request,
          409,
          ErrorCode.InvalidRequest,
          `Conflict: request id ${String(id)} is already in progress`,
          headers,
        );
        return;
      }
    }
    if (ids.length === 0) {
      request.respond(202, headers);
      for (const message of messages) transport.receive(message, extra);
      return;
    }
    await this.#answer(request, transport, messages, parsed.batch, version, headers, extra);
    if (initialize !== undefined) this.#sessions.created(session);
  }

  /** Opens the response (SSE or JSON) for a POST's requests, delivers them, and waits until all are answered. */
  async #answer(
    request: Request,
    transport: StreamableTransport,
    messages: JSONRPCMessage[],
    batch: boolean,
    version: string,
    headers: Record<string, string>,
    extra: MessageExtraInfo,
  ): Promise<void> {
    const ids = requestIds(messages);
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    if (this.#o.enableJsonResponse === true) {
      transport.openRequestStream(ids, new JsonOutlet(request, batch, headers), release);
      for (const message of messages) transport.receive(message, extra);
      await done;
      return;
    }
    const outlet = new SseOutlet(request.respondSSE({ headers }));
    const { id: streamId, closeConnection } = transport.openRequestStream(ids, outlet, release);
    outlet.stream.onClose(() => transport.connectionLost(streamId, outlet));
    if (transport.eventStore !== undefined && version >= '2025-11-25') await transport.prime(streamId, outlet);
    const withClose: MessageExtraInfo =
      transport.eventStore === undefined
        ? extra
        : {
            ...extra,
            closeSSEStream: closeConnection,
            closeStandaloneSSEStream: () => transport.closeStandaloneConnection(),
          };
    for (const message of messages) transport.receive(message, withClose);
    await done;
  }

  async #postStateless(
    request: Request,
    messages: JSONRPCMessage[],
    batch: boolean,
    version: string,
    cors: Record<string, string>,
  ): Promise<void> {
    // Stateless: a fresh server per POST, answered and closed; nothing to resume or route back.
    const id = randomUUID();
    const transport = new StreamableTransport(id, {
      eventStore: undefined,
      retryIntervalMs: 0,
      resumeGraceMs: 0,
      log: this.#log,
    });
    transport.sessionId = undefined;
    const server = await this.#o.createServer({
      id,
      transport: 'streamable-http',
      remoteAddress: request.remoteAddress,
      protocolVersion: version,
    });
    await server.connect(transport);
    try {
      const extra = messageExtra(request);
      if (requestIds(messages).length === 0) {
        request.respond(202, cors);
        for (const message of messages) transport.receive(message, extra);
        return;
      }
      await this.#answer(request, transport, messages, batch, version, cors, extra);
    } finally {
      await server.close().catch(() => {});
      await transport.close();
    }
  }

  /** The session a request names; answers 400 (no id) or 404 (unknown or ended) otherwise. */
  #sessionFor(request: Request, sessionId: string | undefined, headers: Record<string, string>): Session | undefined {
    if (sessionId === undefined) {
      respondError(request, 400, ErrorCode.ConnectionClosed, 'Bad Request: Mcp-Session-Id header is required', headers);
      return undefined;
    }
    const session = this.#sessions.get(sessionId);
    if (session === undefined || session.info.transport !== 'streamable-http') {
      respondError(request, 404, ErrorCode.SessionNotFound, 'Session not found', headers);
      return undefined;
    }
    return session;
  }

  async #get(request: Request): Promise<void> {
    const cors = this.#corsHeaders(request);
    if (this.#o.stateless === true) {
      request.respond(405, { Allow: 'POST', ...cors });
      return;
    }
    if (!hasMediaType(request.headers.get('accept'), 'text/event-stream')) {
      respondError(
        request,
        406,
        ErrorCode.ConnectionClosed,
        'Not Acceptable: Client must accept text/event-stream',
        cors,
      );
      return;
    }
    const session = this.#sessionFor(request, request.headers.get('mcp-session-id'), cors);
    if (session === undefined) return;
    const version = this.#checkVersion(request, cors);
    if (version === false) return;
    this.#sessions.touch(session);
    const transport = session.transport as StreamableTransport;
    const headers = { 'Mcp-Session-Id': session.info.id, ...cors };
    const lastEventId = request.lastEventId;
    const store = transport.eventStore;
    if (lastEventId !== undefined && store !== undefined) {
      await this.#resume(request, session, transport, store, lastEventId, headers);
      return;
    }
    const outlet = new SseOutlet(request.respondSSE({ headers }));
    // A second GET replaces the first: the old connection is most likely dead (an idle proxy cut it).
    transport.openStandalone(outlet, () => {});
    outlet.stream.onClose(() => transport.connectionLost(`${session.info.id}.get`, outlet));
    if (store !== undefined && (session.info.protocolVersion ?? version) >= '2025-11-25') {
      await transport.prime(`${session.info.id}.get`, outlet);
    }
  }

  async #resume(
    request: Request,
    session: Session,
    transport: StreamableTransport,
    store: EventStore,
    lastEventId: string,
    headers: Record<string, string>,
  ): Promise<void> {
    const prefix = `${session.info.id}.`;
    const known =
      store.getStreamIdForEventId === undefined ? undefined : await store.getStreamIdForEventId(lastEventId);
    if (store.getStreamIdForEventId !== undefined && (known === undefined || !known.startsWith(prefix))) {
      respondError(
        request,
        404,
        ErrorCode.ConnectionClosed,
        'Not Found: unknown Last-Event-ID for this session',
        headers,
      );
      return;
    }
    const outlet = new SseOutlet(request.respondSSE({ headers }));
    let streamId = '';
    try {
      streamId = await store.replayEventsAfter(lastEventId, {
        send: (eventId, message) => {
          // Priming events hold no message.
          if ((message as { jsonrpc?: string }).jsonrpc !== undefined) outlet.write(message, eventId);
          return Promise.resolve();
        },
      });
    } catch (error) {
      this.#log(`replay after ${lastEventId} failed: ${String(error)}`);
    }
    if (!streamId.startsWith(prefix) || !transport.resume(streamId, outlet, () => {})) {
      outlet.finish();
      return;
    }
    outlet.stream.onClose(() => transport.connectionLost(streamId, outlet));
  }

  #delete(request: Request): void | Promise<void> {
    const cors = this.#corsHeaders(request);
    if (this.#o.stateless === true) {
      request.respond(405, { Allow: 'POST', ...cors });
      return;
    }
    const session = this.#sessionFor(request, request.headers.get('mcp-session-id'), cors);
    if (session === undefined) return;
    if (this.#checkVersion(request, cors) === false) return;
    return this.#sessions.close(session, 'deleted').then(() => {
      request.respond(200, { 'Content-Type': 'application/json', ...cors }, '{}');
    });
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
