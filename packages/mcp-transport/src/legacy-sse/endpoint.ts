import { randomUUID } from 'node:crypto';
import type { Request } from '@mummyx/core';
import type { EndpointContext } from '../endpoint-context.js';
import { ErrorCode, readMessages, respondError } from '../json-rpc.js';
import { messageExtra } from '../message-extra.js';
import { LegacySseTransport } from './transport.js';

/** The protocol version of the legacy HTTP+SSE transport. */
const legacyProtocolVersion = '2024-11-05';

/** The query parameter of the messages path that names the session. */
const sessionIdParam = 'sessionId';

/** The session a POST to the messages path belongs to: its `sessionId` query parameter. */
export function legacySessionKey(request: Request): string | undefined {
  return request.query.get(sessionIdParam) ?? undefined;
}

/**
 * Legacy HTTP+SSE (protocol 2024-11-05): a GET opens the session's one SSE
 * stream, whose first `endpoint` event names where to POST messages
 * (`<messagesPath>?sessionId=<id>`); every answer comes down the stream.
 */
export class LegacySseEndpoint {
  readonly #context: EndpointContext;
  /** The `endpoint` event's data, less the session id. */
  readonly #endpointPrefix: string;

  constructor(context: EndpointContext, messagesPath: string) {
    this.#context = context;
    this.#endpointPrefix = `${messagesPath}?${sessionIdParam}=`;
  }

  /** GET on the SSE path: a new session on a new stream. */
  async open(request: Request): Promise<void> {
    const { sessions } = this.#context;
    const cors = this.#context.corsHeaders(request);
    if (sessions.refuseNewSession(request, cors)) return;
    const id = randomUUID();
    const stream = request.respondSSE({ headers: cors });
    const transport = new LegacySseTransport(id, stream);
    stream.onClose(() => {
      const session = sessions.get(id);
      if (session !== undefined) void sessions.close(session, 'disconnected');
    });
    const session = await sessions.start(request, 'sse', id, transport, legacyProtocolVersion);
    stream.send({ event: 'endpoint', data: `${this.#endpointPrefix}${encodeURIComponent(id)}` });
    sessions.created(session);
  }

  /** POST on the messages path: 202 at once; the answers go down the session's stream. */
  post(request: Request): void {
    const { sessions } = this.#context;
    const cors = this.#context.corsHeaders(request);
    const id = legacySessionKey(request);
    if (id === undefined || id === '') {
      respondError(
        request,
        400,
        ErrorCode.ConnectionClosed,
        'Bad Request: the sessionId query parameter is required',
        cors,
      );
      return;
    }
    const session = sessions.get(id);
    if (session === undefined || session.info.transport !== 'sse') {
      respondError(request, 404, ErrorCode.SessionNotFound, 'Session not found', cors);
      return;
    }
    const parsed = readMessages(request, cors, this.#context.maxMessageBytes);
    if (parsed === undefined) return;
    sessions.touch(session);
    request.respond(202, { 'Content-Type': 'text/plain; charset=utf-8', ...cors }, 'Accepted');
    const extra = messageExtra(request);
    for (const message of parsed.messages) session.transport.receive(message, extra);
  }
}
