import { STATUS_CODES } from 'node:http';
import { MxError } from '../errors.js';
import { Headers } from '../http/headers.js';
import type { Request } from '../http/request.js';
import type { RequestHandler } from '../router/router.js';
import { joinChunks, readQuickly, WebBodyReadable } from './response-body.js';
import { respondWithoutStreaming } from './respond-without-streaming.js';
import { bodyKindOf, isForbiddenMethod, requestUrlOf, webStreamOf } from './web-request.js';
import { flatHeadersOf, isEventStream } from './web-response.js';

/**
 * A web-standard request handler: Hono's `app.fetch`, the MCP SDK's `createMcpHandler(…).fetch`,
 * or any `(request) => Response`.
 */
export type FetchHandler = (request: globalThis.Request) => Response | Promise<Response>;

export interface FetchHandlerOptions {
  /**
   * Where `respondStream()` is not available (on worker threads, until they stream), the
   * most bytes of a streamed response body that are read whole and sent as one response. A
   * larger body gets a 500 and a log line. Default 8 MiB.
   */
  maxBufferedBodyBytes?: number;
}

/**
 * Bodies up to this size that are ready at once go out as one `respond()`. They are in memory
 * already; the bound is for a stream that produces without ever waiting, which would otherwise
 * be read on and on within one turn of the event loop.
 */
const maxQuickBodyBytes = 1024 * 1024;

const defaultMaxBufferedBodyBytes = 8 * 1024 * 1024;

/**
 * Serves a web-standard fetch handler as a route handler, inline, on worker threads or in an
 * app module (`router.any('/**', fetchHandler(app.fetch))`, or `export const handler =
 * fetchHandler(app.fetch)`).
 *
 * The handler gets a web `Request`: the method; the URL `http://` + `Host` + the request
 * target (`http://localhost…` for an HTTP/1.0 request without `Host`; an absolute-form target
 * as sent); every header, repeated ones joined with `", "` as web `Headers` do; the body —
 * `request.body` on buffered routes, on `{ body: 'stream' }` routes a ReadableStream that reads
 * the socket only as the handler reads it; its `signal`, which does not abort yet. A `Host`
 * that is not a host and port gets 400, a method a web `Request` cannot carry (TRACE) 501,
 * before the handler runs.
 *
 * Its `Response` is written back with its status and every header (each `Set-Cookie` on its
 * own field; `Transfer-Encoding` is the server's business and dropped). A body that is ready
 * at once — made from a string or bytes, or written whole before the handler returned — and
 * at most 1 MiB goes out as one `respond()`: with Content-Length, compressed when the client
 * accepts it. Any other body is streamed with `respondStream()`: read only as fast as the
 * client takes it, never compressed, cancelled when the client leaves (the producer sees the
 * cancel). `text/event-stream` bodies are always streamed, each chunk written as it comes
 * (`X-Accel-Buffering: no` is added). HEAD gets the head only. Where `respondStream()` is not
 * available (worker threads cannot stream yet), a streamed body is read whole, up to
 * `maxBufferedBodyBytes`, and an event stream gets a 500: pin such routes `{ inline: true }`.
 *
 * A handler that throws or rejects, or resolves to something other than a Response, gets a 500
 * and a log line, like any handler. The returned promise settles once the response is handed
 * to the server; a stream goes on after it, and a stream that fails midway closes the
 * connection (see `respondStream()`).
 */
export function fetchHandler(handler: FetchHandler, options: FetchHandlerOptions = {}): RequestHandler {
  if (typeof handler !== 'function') throw new TypeError('fetchHandler needs a function (request) => Response');
  const maxBufferedBodyBytes = options.maxBufferedBodyBytes ?? defaultMaxBufferedBodyBytes;
  if (!Number.isSafeInteger(maxBufferedBodyBytes) || maxBufferedBodyBytes < 0) {
    throw new MxError('MX_ERR_OPTION_INVALID', 'maxBufferedBodyBytes must be a non-negative integer');
  }
  const writeOptions = { maxBufferedBodyBytes };
  return (request) => {
    if (isForbiddenMethod(request.method)) {
      refuse(request, 501, `${request.method} cannot be passed to a fetch handler`);
      return undefined;
    }
    const webRequest = toWebRequest(request);
    if (webRequest === undefined) {
      refuse(request, 400, 'the request target and Host header do not form an http URL');
      return undefined;
    }
    const result = handler(webRequest);
    if (result instanceof Response) return writeWebResponse(request, result, writeOptions);
    return Promise.resolve(result).then((response) => writeWebResponse(request, response, writeOptions));
  };
}

/**
 * The client-gone signal for the web Request. The server's request has none yet, so this is
 * `undefined` and the web Request's own signal, which never aborts, stands in.
 */
function signalOf(request: Request): AbortSignal | undefined {
  return (request as { readonly signal?: AbortSignal }).signal;
}

export interface WebRequestOptions {
  /**
   * Give the web Request the body (default true). A caller that has read the body already — a
   * handler that parsed the JSON once to route the request — leaves it out, and the web Request
   * is built without copying it.
   */
  body?: boolean;
}

/**
 * The web Request that `fetchHandler` hands its handler for a server request (the URL, every
 * header, the body, the client-gone signal; see `fetchHandler`), for code that calls a fetch
 * handler itself. Returns `undefined` when the request cannot be one: a `Host` that is not a
 * host and port, a method a web Request cannot carry (TRACE, CONNECT), a target a web Request
 * refuses. It answers nothing: `fetchHandler` answers those 400 or 501.
 */
export function toWebRequest(request: Request, options: WebRequestOptions = {}): globalThis.Request | undefined {
  const method = request.method;
  const headers = request.headers;
  const url = requestUrlOf(request.uri, headers.get('host'));
  if (url === undefined || isForbiddenMethod(method)) return undefined;
  const init: RequestInit = {};
  if (method !== 'GET') init.method = method;
  const signal = signalOf(request);
  if (signal !== undefined) init.signal = signal;
  switch (options.body === false ? 'none' : bodyKindOf(method, request.body.length, headers)) {
    case 'buffered':
      init.body = request.body;
      break;
    case 'stream':
      init.body = webStreamOf(request.bodyStream);
      (init as { duplex?: 'half' }).duplex = 'half';
      break;
    case 'none':
      break;
  }
  try {
    const webRequest = new globalThis.Request(url, init);
    // Appended to the Request's own Headers: cheaper than passing them in `init`, which builds a
    // Headers and then copies it. Repeats are joined with ", " there, as web Headers do.
    const target = webRequest.headers;
    const raw = headers.toRaw();
    for (let i = 0; i < raw.length; i += 2) target.append(raw[i]!, raw[i + 1]!);
    return webRequest;
  } catch {
    // What the parser let through but a web Request refuses: a malformed absolute-form URL, a
    // port out of range.
    return undefined;
  }
}

function refuse(request: Request, status: number, reason: string): void {
  request.respond(
    status,
    { 'Content-Type': 'text/plain; charset=utf-8' },
    `${STATUS_CODES[status] ?? 'Error'}: ${reason}\n`,
  );
}

/**
 * Writes a web Response through a server request, as `fetchHandler` writes its handler's (see
 * there: one `respond()` for a body ready at once, a stream otherwise, an event stream always
 * streamed; on a worker thread, where streams are not available yet, a body read whole up to
 * `maxBufferedBodyBytes` and an event stream refused with a 500). For code that calls a fetch
 * handler itself. Counts as the response; throws (status 500) for something that is not a
 * Response. The promise settles once the response is handed to the server.
 */
export function writeWebResponse(
  request: Request,
  response: Response,
  options: FetchHandlerOptions = {},
): void | Promise<void> {
  const maxBufferedBodyBytes = options.maxBufferedBodyBytes ?? defaultMaxBufferedBodyBytes;
  if (!isResponse(response)) throw new TypeError(`a fetch handler must return a Response, got ${String(response)}`);
  const status = response.status;
  // Response.error(), a network error, has status 0: there is nothing to send but a failure.
  if (status === 0) throw new TypeError('the fetch handler returned a network error (Response.error())');
  const body = response.body;
  // Answered already, by the server (413 from a stream-bodied route's limit) or by the handler
  // itself through the server request: the Response has nowhere to go.
  if (request.responded) {
    if (body !== null) void body.cancel().catch(() => {});
    return undefined;
  }
  const headers = Headers.fromRaw(flatHeadersOf(response.headers));
  if (body === null || request.method === 'HEAD') {
    if (body !== null) void body.cancel().catch(() => {});
    respondHeadOnly(request, status, headers);
    return undefined;
  }
  const reader = body.getReader();
  const eventStream = isEventStream(headers.get('content-type'));
  if (!request.canRespondStream) {
    return respondWithoutStreaming(request, status, headers, reader, eventStream, maxBufferedBodyBytes);
  }
  if (eventStream) {
    if (!headers.has('x-accel-buffering')) headers.append('x-accel-buffering', 'no');
    request.respondStream(status, headers, new WebBodyReadable(reader));
    return undefined;
  }
  return readQuickly(reader, maxQuickBodyBytes).then((read) => {
    if (read.isComplete) request.respond(status, headers, joinChunks(read.chunks, read.bytes));
    else request.respondStream(status, headers, new WebBodyReadable(reader, read.chunks, read.pending));
  });
}

/**
 * A response without a body. For HEAD, when the handler gave no Content-Length, the head is
 * sent as it is (`respondStream()` adds none) rather than with `Content-Length: 0`, which would
 * claim the GET body is empty; where streams are not available, `respond()` has to add it.
 */
function respondHeadOnly(request: Request, status: number, headers: Headers): void {
  if (request.method === 'HEAD' && request.canRespondStream && !headers.has('content-length')) {
    request.respondStream(status, headers, undefined);
  } else request.respond(status, headers);
}

function isResponse(value: unknown): value is Response {
  if (value instanceof Response) return true;
  // A Response of another realm or implementation (a polyfill) works if it has the same shape.
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Response).status === 'number' &&
    typeof (value as Response).headers?.forEach === 'function' &&
    'body' in value
  );
}
