import { randomUUID } from 'node:crypto';
import type { Request } from '@mummyx/core';
import type { EndpointContext } from '../endpoint-context.js';
import type { EventStore } from '../event-store.js';
import { ErrorCode, echoableId, hasMediaType, isInitialize, requestIds, respondError } from '../json-rpc.js';
import { messageExtra } from '../message-extra.js';
import type { JSONRPCMessage, MessageExtraInfo, RequestId } from '../mcp-types.js';
import type { Session } from '../session-registry.js';
import type { McpServerLike, McpSessionInfo } from '../session-transport.js';
import { JsonOutlet, SseOutlet } from './outlets.js';
import { headerVersion, negotiatedVersion, primesStreams } from './protocol-version.js';
import { sessionIdHeader, sessionIdOf } from './session-header.js';
import { isStreamOfSession } from './stream-ids.js';
import { StreamableTransport } from './transport.js';

export interface Era2025Options {
  /** Makes the server of one stateless POST (sessions get theirs from the registry). */
  createServer: (session: McpSessionInfo, request: Request) => Promise<McpServerLike>;
  /** No sessions: a fresh server per POST; GET and DELETE answer 405. */
  stateless: boolean;
  /** Answer POSTs with `application/json` instead of an SSE stream. */
  enableJsonResponse: boolean;
  /** Where events are kept for resumption; undefined turns resumption off. */
  eventStore: EventStore | undefined;
  retryIntervalMs: number;
  resumeGraceMs: number;
}

/** The JSON-RPC messages of a POST body. */
export interface PostedMessages {
  messages: JSONRPCMessage[];
  batch: boolean;
}

/**
 * Streamable HTTP in the 2025 eras (2025-03-26, 2025-06-18, 2025-11-25): an
 * `initialize` POST makes a session named by `Mcp-Session-Id`; later POSTs,
 * the standalone GET stream and DELETE name it; streams resume with
 * `Last-Event-ID` when events are stored. With `stateless`, every POST gets
 * a fresh server instead, and GET and DELETE answer 405.
 */
export class Era2025 {
  readonly #context: EndpointContext;
  readonly #options: Era2025Options;

  constructor(context: EndpointContext, options: Era2025Options) {
    this.#context = context;
    this.#options = options;
  }

  /** A POST whose body is already read: negotiates the version, then finds or makes the session and answers. */
  async post(request: Request, body: PostedMessages, cors: Record<string, string>): Promise<void> {
    const { sessions } = this.#context;
    const messages = body.messages;
    // Error replies carry the request's id when there is one request to name.
    const replyId = body.batch ? null : echoableId(messages[0]);
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
      version = negotiatedVersion(initialize);
    } else {
      version = headerVersion(request, cors, replyId);
      if (version === false) return;
    }

    if (this.#options.stateless) {
      await this.#postStateless(request, body, version, cors);
      return;
    }

    let session: Session | undefined;
    const sessionId = sessionIdOf(request);
    if (initialize !== undefined) {
      const existing = sessionId === undefined ? undefined : sessions.get(sessionId);
      if (existing !== undefined) {
        respondError(
          request,
          400,
          ErrorCode.InvalidRequest,
          'Invalid Request: Server already initialized',
          cors,
          replyId,
        );
        return;
      }
      if (sessions.refuseNewSession(request, cors, replyId)) return;
      const id = randomUUID();
      const transport = new StreamableTransport(id, {
        eventStore: this.#options.eventStore,
        retryIntervalMs: this.#options.retryIntervalMs,
        resumeGraceMs: this.#options.resumeGraceMs,
        log: this.#context.log,
      });
      session = await sessions.start(request, 'streamable-http', id, transport, version);
    } else {
      session = this.#sessionFor(request, sessionId, cors, replyId);
      if (session === undefined) return;
    }
    sessions.touch(session);
    const transport = session.transport as StreamableTransport;
    const headers = { [sessionIdHeader]: session.info.id, ...cors };
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
          replyId,
        );
        return;
      }
    }
    if (ids.length === 0) {
      request.respond(202, headers);
      for (const message of messages) transport.receive(message, extra);
      return;
    }
    await this.#answer(request, transport, body, version, headers, extra);
    if (initialize !== undefined) sessions.created(session);
  }

  /** Opens the response (SSE or JSON) for a POST's requests, delivers them, and waits until all are answered. */
  async #answer(
    request: Request,
    transport: StreamableTransport,
    body: PostedMessages,
    version: string,
    headers: Record<string, string>,
    extra: MessageExtraInfo,
  ): Promise<void> {
    const { messages, batch } = body;
    const ids = requestIds(messages);
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    if (this.#options.enableJsonResponse) {
      transport.openRequestStream(ids, new JsonOutlet(request, batch, headers), release);
      for (const message of messages) transport.receive(message, extra);
      await done;
      return;
    }
    const outlet = new SseOutlet(request.respondSSE({ headers }));
    const { id: streamId, closeConnection } = transport.openRequestStream(ids, outlet, release);
    outlet.stream.onClose(() => transport.connectionLost(streamId, outlet));
    if (transport.eventStore !== undefined && primesStreams(version)) await transport.prime(streamId, outlet);
    if (transport.eventStore !== undefined) {
      // Set on the POST's own extra rather than spread into a copy, which would build its lazy web Request.
      extra.closeSSEStream = closeConnection;
      extra.closeStandaloneSSEStream = () => transport.closeStandaloneConnection();
    }
    for (const message of messages) transport.receive(message, extra);
    await done;
  }

  async #postStateless(
    request: Request,
    body: PostedMessages,
    version: string,
    cors: Record<string, string>,
  ): Promise<void> {
    // Stateless: a fresh server per POST, answered and closed; nothing to resume or route back.
    const id = randomUUID();
    const transport = new StreamableTransport(id, {
      eventStore: undefined,
      retryIntervalMs: 0,
      resumeGraceMs: 0,
      log: this.#context.log,
    });
    transport.sessionId = undefined;
    const server = await this.#options.createServer(
      { id, transport: 'streamable-http', remoteAddress: request.remoteAddress, protocolVersion: version },
      request,
    );
    await server.connect(transport);
    try {
      const extra = messageExtra(request);
      if (requestIds(body.messages).length === 0) {
        request.respond(202, cors);
        for (const message of body.messages) transport.receive(message, extra);
        return;
      }
      await this.#answer(request, transport, body, version, cors, extra);
    } finally {
      await server.close().catch(() => {});
      await transport.close();
    }
  }

  /** The session a request names; answers 400 (no id) or 404 (unknown or ended) otherwise. */
  #sessionFor(
    request: Request,
    sessionId: string | undefined,
    headers: Record<string, string>,
    replyId: RequestId | null = null,
  ): Session | undefined {
    if (sessionId === undefined) {
      respondError(
        request,
        400,
        ErrorCode.ConnectionClosed,
        'Bad Request: Mcp-Session-Id header is required',
        headers,
        replyId,
      );
      return undefined;
    }
    const session = this.#context.sessions.get(sessionId);
    if (session === undefined || session.info.transport !== 'streamable-http') {
      respondError(request, 404, ErrorCode.SessionNotFound, 'Session not found', headers, replyId);
      return undefined;
    }
    return session;
  }

  /** GET: the session's standalone stream, or the rest of a stream after `Last-Event-ID`. */
  async get(request: Request): Promise<void> {
    const cors = this.#context.corsHeaders(request);
    if (this.#options.stateless) {
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
    const session = this.#sessionFor(request, sessionIdOf(request), cors);
    if (session === undefined) return;
    const version = headerVersion(request, cors);
    if (version === false) return;
    this.#context.sessions.touch(session);
    const transport = session.transport as StreamableTransport;
    const headers = { [sessionIdHeader]: session.info.id, ...cors };
    const lastEventId = request.lastEventId;
    const store = transport.eventStore;
    if (lastEventId !== undefined && store !== undefined) {
      await this.#resume(request, session, transport, store, lastEventId, headers);
      return;
    }
    const outlet = new SseOutlet(request.respondSSE({ headers }));
    // A second GET replaces the first: the old connection is most likely dead (an idle proxy cut it).
    const streamId = transport.openStandalone(outlet, () => {});
    outlet.stream.onClose(() => transport.connectionLost(streamId, outlet));
    if (store !== undefined && primesStreams(session.info.protocolVersion ?? version)) {
      await transport.prime(streamId, outlet);
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
    const sessionId = session.info.id;
    const known =
      store.getStreamIdForEventId === undefined ? undefined : await store.getStreamIdForEventId(lastEventId);
    if (store.getStreamIdForEventId !== undefined && (known === undefined || !isStreamOfSession(known, sessionId))) {
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
      this.#context.log(`replay after ${lastEventId} failed: ${String(error)}`);
    }
    if (!isStreamOfSession(streamId, sessionId) || !transport.resume(streamId, outlet, () => {})) {
      outlet.finish();
      return;
    }
    outlet.stream.onClose(() => transport.connectionLost(streamId, outlet));
  }

  /** DELETE: ends the session. */
  delete(request: Request): void | Promise<void> {
    const cors = this.#context.corsHeaders(request);
    if (this.#options.stateless) {
      request.respond(405, { Allow: 'POST', ...cors });
      return;
    }
    const session = this.#sessionFor(request, sessionIdOf(request), cors);
    if (session === undefined) return;
    if (headerVersion(request, cors) === false) return;
    return this.#context.sessions.close(session, 'deleted').then(() => {
      request.respond(200, { 'Content-Type': 'application/json', ...cors }, '{}');
    });
  }
}
