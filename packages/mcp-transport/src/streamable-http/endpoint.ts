import type { Request } from '@mummyx/core';
import type { EndpointContext } from '../endpoint-context.js';
import { ErrorCode, echoableId, hasMediaType, messagesOf, readJson, respondError } from '../json-rpc.js';
import { Era2025, type Era2025Options } from './era-2025.js';
import { modernProtocolVersion } from '../mcp-types.js';
import type { Era2026 } from './era-2026.js';
import { sessionIdOf } from './session-header.js';

/**
 * The session a request on the Streamable HTTP path belongs to: its
 * `Mcp-Session-Id`, so that in threaded mode it reaches the worker holding
 * the session (undefined for `initialize`, which makes one, and for
 * 2026-era requests, which have none).
 */
export function streamableSessionKey(request: Request): string | undefined {
  return sessionIdOf(request);
}

/**
 * The session key of a POST: its `Mcp-Session-Id`; for a 2026-07-28 request
 * without one (`MCP-Protocol-Version` 2026-07-28 or later), `false`: it
 * belongs to no session and goes to the first free worker like any plain
 * request, told apart without reading the body. Anything else without an id
 * (an `initialize`) is placed as a new session, on the worker holding the
 * fewest. A wrong header costs nothing: whichever worker serves the request
 * classifies its body again.
 */
export function postSessionKey(request: Request): string | undefined | false {
  const sessionId = sessionIdOf(request);
  if (sessionId !== undefined) return sessionId;
  const version = request.headers.get('mcp-protocol-version');
  return version !== undefined && version >= modernProtocolVersion ? false : undefined;
}

/**
 * The Streamable HTTP path (`/mcp` by default), where both protocol eras
 * meet. A POST's body is read and parsed once, then classified: 2026-07-28
 * requests go to `Era2026` (stateless, any worker), everything else to the
 * 2025 session stack (`Era2025`: sessions pinned to the worker that made
 * them, or the `stateless` mode). GET and DELETE exist only in the 2025
 * eras and always go there.
 */
export class StreamableHttpEndpoint {
  readonly #context: EndpointContext;
  readonly #era2025: Era2025;
  readonly #era2026: Era2026;

  constructor(context: EndpointContext, options: Era2025Options, era2026: Era2026) {
    this.#context = context;
    this.#era2025 = new Era2025(context, options);
    this.#era2026 = era2026;
  }

  /** POST: reads the JSON body, then hands it to the era that serves it. */
  async post(request: Request): Promise<void> {
    const cors = this.#context.corsHeaders(request);
    const body = readJson(request, cors, this.#context.maxMessageBytes);
    if (body === undefined) return;
    if (await this.#era2026.serve(request, body.value, cors)) return;
    const accept = request.headers.get('accept');
    if (!hasMediaType(accept, 'application/json') || !hasMediaType(accept, 'text/event-stream')) {
      respondError(
        request,
        406,
        ErrorCode.ConnectionClosed,
        'Not Acceptable: Client must accept both application/json and text/event-stream',
        cors,
        echoableId(body.value),
      );
      return;
    }
    const messages = messagesOf(request, body.value, cors);
    if (messages === undefined) return;
    await this.#era2025.post(request, messages, cors);
  }

  /** GET: a 2025-era session's standalone or resumed stream. */
  get(request: Request): Promise<void> {
    return this.#era2025.get(request);
  }

  /** DELETE: ends a 2025-era session. */
  delete(request: Request): void | Promise<void> {
    return this.#era2025.delete(request);
  }
}
