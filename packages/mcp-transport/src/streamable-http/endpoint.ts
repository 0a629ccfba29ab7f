import type { Request } from '@mummyx/core';
import type { EndpointContext } from '../endpoint-context.js';
import { ErrorCode, hasMediaType, readMessages, respondError } from '../json-rpc.js';
import { Era2025, type Era2025Options } from './era-2025.js';
import { sessionIdOf } from './session-header.js';

/**
 * The session a request on the Streamable HTTP path belongs to: its
 * `Mcp-Session-Id`, so that in threaded mode it reaches the worker holding
 * the session (undefined for `initialize`, which makes one).
 */
export function streamableSessionKey(request: Request): string | undefined {
  return sessionIdOf(request);
}

/**
 * The Streamable HTTP path (`/mcp` by default). Every request on it comes
 * here first, is classified, and is handed to the stack of its protocol era.
 * One era is served now: the 2025 eras (`Era2025`: sessions, or the
 * `stateless` mode), so every POST that is well-formed JSON-RPC goes there,
 * and GET and DELETE, which only the 2025 eras have, always do.
 */
export class StreamableHttpEndpoint {
  readonly #context: EndpointContext;
  readonly #era2025: Era2025;

  constructor(context: EndpointContext, options: Era2025Options) {
    this.#context = context;
    this.#era2025 = new Era2025(context, options);
  }

  /** POST: checks `Accept`, reads the JSON-RPC body, then hands it to the era that serves it. */
  async post(request: Request): Promise<void> {
    const cors = this.#context.corsHeaders(request);
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
    const body = readMessages(request, cors, this.#context.maxMessageBytes);
    if (body === undefined) return;
    await this.#era2025.post(request, body, cors);
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
