import { Headers } from '../http/headers.js';
import type { Request } from '../http/request.js';
import { isEventStream, WebBodyReadable } from '../http/response-stream.js';
import { reasonPhrase } from '../node-modules.js';
import type { RequestHandler } from '../router/router.js';
import { joinChunks, readQuickly } from './response-body.js';
import { bodyKindOf, isForbiddenMethod, requestUrlOf, webStreamOf } from './web-request.js';
import { flatHeadersOf } from './web-response.js';

/**
 * A web-standard request handler: Hono's `app.fetch`, the MCP SDK's `createMcpHandler(…).fetch`,
 * or any `(request) => Response`.
 */
export type FetchHandler = (request: globalThis.Request) => Response | Promise<Response>;

/**
 * Bodies up to this size that are ready at once go out as one `respond()`. They are in memory
 * already; the bound is for a stream that produces without ever waiting, which would otherwise
 * be read on and on within one turn of the event loop.
 */
const maxQuickBodyBytes = 1024 * 1024;

/**
 * Serves a web-standard fetch handler as a route handler, inline, on worker threads or in an
 * app module (`router.any('/**', fetchHandler(app.fetch))`, or `export const handler =
 * fetchHandler(app.fetch)`).
 *
 * The handler gets a web `Request`: the method; the URL `http://` + `Host` + the request
 * target (`http://localhost…` for an HTTP/1.0 request without `Host`; an absolute-form target
 * as sent); every header, repeated ones joined with `", "` as web `Headers` do; the body —
 * `request.body` on buffered routes, on `{ body: 'stream' }` routes a ReadableStream that reads
 * the socket only as the handler reads it; and as its `signal` the server request's `signal`,
 * which aborts when the client disconnects before the response is complete (made when first
 * read, like the server request's). A `Host` that is not a host and port gets 400, a method a
 * web `Request` cannot carry (TRACE) 501, before the handler runs.
 *
 * Its `Response` is written back with its status and every header (each `Set-Cookie` on its
 * own field; `Transfer-Encoding` is the server's business and dropped). A body that is ready
 * at once — made from a string or bytes, or written whole before the handler returned — and
 * at most 1 MiB goes out as one `respond()`: with Content-Length, compressed when the client
 * accepts it. Any other body is streamed with `respondStream()`, on the IO thread or from a
 * worker alike: read only as fast as the client takes it, never compressed, cancelled when the
 * client leaves (the producer sees the cancel). `text/event-stream` bodies are always
 * streamed, their head sent at once (an EventSource opens before the first event) and each
 * chunk written as it comes (`X-Accel-Buffering: no` is added). HEAD gets the head only.
 *
 * A handler that throws or rejects, or resolves to something other than a Response, gets a 500
 * and a log line, like any handler. The returned promise settles once the response is handed
 * to the server; a stream goes on after it (on a worker, which takes other requests
 * meanwhile), and a stream that fails midway closes the connection and logs an error line
 * (see `respondStream()`).
 */
export function fetchHandler(handler: FetchHandler): RequestHandler {
  if (typeof handler !== 'function') throw new TypeError('fetchHandler needs a function (request) => Response');
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
    if (result instanceof Response) return writeWebResponse(request, result);
    return Promise.resolve(result).then((response) => writeWebResponse(request, response));
  };
}

/**
 * A web Request whose `signal` is the server request's, made only if the app reads it. Passing a
 * signal in `init` would make one for every request, and a web Request following it costs more
 * on Node 20 than all the rest of a small request. The getter is defined once on this class's
 * prototype: defined on each object, it made building a small web Request cost 4–7 µs more in a
 * loop on Node 20, where the subclass costs nothing measurable. A clone (`clone()`) or a Request
 * made from this one (`new Request(webRequest)`) is a plain web Request whose signal does not
 * follow the client (Node 20, 22 and 24).
 *
 * The class is made on first use: reading `globalThis.Request` loads Node's fetch implementation
 * (undici, with tls, http2 and assert), ~35 ms of CPU in every worker thread of a pool that
 * imports this package on Node 20, whether its app serves fetch handlers or not (from Node 22,
 * `node:http` loads it anyway).
 */
type ServerWebRequestClass = new (url: string, init: RequestInit, request: Request) => globalThis.Request;
let serverWebRequestClass: ServerWebRequestClass | undefined;

function serverWebRequest(): ServerWebRequestClass {
  return (serverWebRequestClass ??= class ServerWebRequest extends globalThis.Request {
    readonly #request: Request;

    constructor(url: string, init: RequestInit, request: Request) {
      super(url, init);
      this.#request = request;
    }

    static {
      // On the prototype, once: the DOM types declare `signal` a field, which an accessor may not override.
      Object.defineProperty(this.prototype, 'signal', {
        get(this: ServerWebRequest): AbortSignal {
          return this.#request.signal;
        },
        configurable: true,
      });
    }
  });
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
    const webRequest = new (serverWebRequest())(url, init, request);
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
    `${reasonPhrase(status) ?? 'Error'}: ${reason}\n`,
  );
}

/**
 * Writes a web Response through a server request, as `fetchHandler` writes its handler's (see
 * there: one `respond()` for a body ready at once, a stream otherwise, an event stream always
 * streamed; inline and on worker threads alike). For code that calls a fetch handler itself.
 * Counts as the response; throws (status 500) for something that is not a Response. The
 * promise settles once the response is handed to the server.
 */
export function writeWebResponse(request: Request, response: Response): void | Promise<void> {
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
  if (isEventStream(headers.get('content-type'))) {
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
 * claim the GET body is empty.
 */
function respondHeadOnly(request: Request, status: number, headers: Headers): void {
  if (request.method === 'HEAD' && !headers.has('content-length')) {
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
