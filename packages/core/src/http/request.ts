import { Readable } from 'node:stream';
import { MxError } from '../errors.js';
import { SseStream, type StreamChannel } from '../sse/sse-stream.js';
import { WebSocket, type WebSocketChannel, type WebSocketHandler } from '../websocket/websocket.js';
import type { ResolvedCompression } from './compression.js';
import { Headers, flattenHeaders, type HeadersInit } from './headers.js';
import {
  prepareResponse,
  validateHeaders,
  validateStatus,
  type PreparedResponse,
  type ResponseBody,
} from './response.js';
import { readableOf, type ResponseStreamBody, type StreamedBody } from './response-stream.js';

/**
 * Everything the IO thread knows about a request before a handler runs. It is
 * plain data, so it crosses to a worker thread by structured clone.
 */
export interface RequestHead {
  method: string;
  /** The request target exactly as it arrived. */
  uri: string;
  httpVersion: '1.0' | '1.1';
  /** Flat `[name, value, …]` in arrival order. */
  rawHeaders: string[];
  remoteAddress: string;
  /** Percent-decoded path, without the query. */
  path: string;
  /** The query string without its `?`, still encoded. */
  search: string;
}

/** Where a request's response goes: the socket (inline) or the IO thread (worker). */
export interface ResponseSink {
  send(response: PreparedResponse): void;
  /** Starts a streamed response (server-sent events) with these caller headers. */
  openStream(headers: string[]): StreamChannel;
  /** Completes a WebSocket handshake, or answers 400/403/426 and throws. */
  upgrade(options?: UpgradeOptions): WebSocketChannel;
  /** Sends this session's later requests to the thread running this one; returns the release. */
  bindSession(key: string): () => void;
  /**
   * Writes a head, then `body` with back-pressure (none for HEAD, 204 and 304, where `body` is
   * destroyed); `body` is destroyed when the client leaves, and a body that fails midway cuts
   * the response.
   */
  sendStream(status: number, headers: string[], body: StreamedBody | undefined): void;
  /**
   * Calls `onGone` once if the client disconnects before this request's response is complete
   * (see `Request.signal`). Only requests whose `signal` is read are watched.
   */
  watchClient(onGone: () => void): void;
}

export interface UpgradeOptions {
  /**
   * The subprotocol to answer with (`Sec-WebSocket-Protocol`). The client
   * must have offered it; check `request.headers.get('sec-websocket-protocol')`
   * first and refuse the upgrade otherwise. Default: the server's
   * `handleProtocols`, or the client's first offer.
   */
  protocol?: string;
  /**
   * Handles this connection's events instead of the server's
   * `websocketHandler`. It runs on the thread that called
   * `upgradeToWebSocket()`, where the connection's events are delivered.
   */
  handler?: WebSocketHandler;
}

/** A session key bound to the thread that runs a session's requests. */
export interface SessionBinding {
  readonly key: string;
  /** Ends the binding (the session closed). Idempotent. */
  release(): void;
}

export interface RespondSseOptions {
  /** Extra response headers (CORS, cookies). Content-Type and caching headers are set for you. */
  headers?: HeadersInit;
}

export interface RequestConfig {
  compression: ResolvedCompression | undefined;
}

const emptyBody = Buffer.alloc(0);

function isToken(value: string): boolean {
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(value);
}

/**
 * One HTTP request, as a handler sees it. The same class serves inline and on
 * worker threads: it never touches Node's `req`/`res`, only a sink.
 */
export class Request {
  // Public fields are declared, not initialized: the constructor creates them, in this order.
  // Initialized fields would each be defined once more before it runs, on every request.
  declare readonly method: string;
  declare readonly uri: string;
  declare readonly httpVersion: '1.0' | '1.1';
  declare readonly path: string;
  declare readonly remoteAddress: string;
  /** The whole body for buffered routes; empty when there was none. */
  declare readonly body: Buffer;
  /** Parameters captured by the route (`/users/:id` → `pathParams.id`). */
  declare pathParams: Record<string, string>;

  readonly #head: RequestHead;
  readonly #sink: ResponseSink;
  readonly #config: RequestConfig;
  #bodyStream: Readable | undefined;
  #headers: Headers | undefined;
  #query: URLSearchParams | undefined;
  #signal: AbortSignal | undefined;
  #responded = false;

  constructor(
    head: RequestHead,
    body: Buffer | undefined,
    sink: ResponseSink,
    config: RequestConfig,
    bodyStream?: Readable,
  ) {
    this.method = head.method;
    this.uri = head.uri;
    this.httpVersion = head.httpVersion;
    this.path = head.path;
    this.remoteAddress = head.remoteAddress;
    this.body = body ?? emptyBody;
    this.pathParams = {};
    this.#head = head;
    this.#sink = sink;
    this.#config = config;
    this.#bodyStream = bodyStream;
  }

  /**
   * The body as a Readable (also an async iterable of Buffers). On a route
   * with `{ body: 'stream' }` it is the live body: bytes arrive as the client
   * sends them, the client is held back while nobody reads (back-pressure),
   * and a client that disconnects makes it fail with an error. Read it once.
   * On buffered routes it is a stream over `body`.
   */
  get bodyStream(): Readable {
    return (this.#bodyStream ??= Readable.from(this.body.length === 0 ? [] : [this.body]));
  }

  /**
   * True: `respondStream()` works on every thread. Kept for code written when worker threads
   * could not stream.
   * @deprecated always true
   */
  get canRespondStream(): boolean {
    return true;
  }

  /**
   * Sends a response whose body is streamed from `body` — a Node `Readable`, a web
   * `ReadableStream` or an async iterable of `Uint8Array` or string chunks — with
   * back-pressure: the body is read only as fast as the client takes it. Never compressed,
   * never buffered whole. Set `Content-Length` when the size is known, otherwise the body is
   * sent chunked (HTTP/1.1) or until the connection closes (HTTP/1.0). HEAD, 204 and 304
   * responses get the head only and `body` is destroyed (a web stream cancelled). A body whose
   * `Content-Type` is `text/event-stream` has its head sent at once, so an `EventSource` opens
   * before the first event. If `body` fails midway the connection is closed, so the client sees
   * a truncated response, never a wrong one, and an error line is logged. When the client
   * leaves, `body` is destroyed, which stops its producer. Counts as the response.
   *
   * On a worker thread the body is read there and relayed to the IO thread, which writes it:
   * at most 256 KiB of it are in flight between the threads (a credit window), so a slow
   * client holds the producer back, and the worker takes other requests while the stream goes
   * on. Its chunks are copied once to cross threads (a file from `serveFile` is not).
   */
  respondStream(status: number, headers: HeadersInit | undefined, body: ResponseStreamBody | undefined): void {
    if (this.#responded) throw new MxError('MX_ERR_RESPONSE_ALREADY_SENT', `${this.method} ${this.uri}`);
    validateStatus(status);
    const raw = flattenHeaders(headers);
    validateHeaders(raw);
    let readable = body === undefined ? undefined : readableOf(body);
    this.#responded = true;
    if (readable !== undefined && (this.method === 'HEAD' || status === 204 || status === 304)) {
      readable.destroy();
      readable = undefined;
    }
    this.#sink.sendStream(status, raw, readable);
  }

  /**
   * Aborts when the client disconnects — the connection closes or fails — before this
   * request's response is complete: while the handler still works on it, or while a streamed
   * response (`respondStream()`, `respondSSE()`) is still being written. It never aborts once
   * the whole response has been handed to the socket, nor for a request whose connection stays
   * open. When the server closes, it aborts only for the connections the close deadline cuts
   * (`closeTimeoutMs`). On a worker thread the news crosses from the IO thread as a message,
   * so it comes a moment after the disconnect. Its `reason` is a DOMException named
   * `AbortError`. Made on first read: a request whose signal is never read costs nothing.
   */
  get signal(): AbortSignal {
    if (this.#signal === undefined) {
      const controller = new AbortController();
      this.#signal = controller.signal;
      this.#sink.watchClient(() =>
        controller.abort(new DOMException('the client disconnected before the response was complete', 'AbortError')),
      );
    }
    return this.#signal;
  }

  /** Request headers: ordered, duplicates kept, case-insensitive `get`. */
  get headers(): Headers {
    return (this.#headers ??= Headers.fromRaw(this.#head.rawHeaders));
  }

  /**
   * The query string as an ordered multi-map, form-decoded (`+` is a space):
   * `query.get('a')` is the first value, `query.getAll('a')` every value.
   */
  get query(): URLSearchParams {
    return (this.#query ??= new URLSearchParams(this.#head.search));
  }

  /** True once a response has been sent. */
  get responded(): boolean {
    return this.#responded;
  }

  /**
   * Sends the response. Call it exactly once; a second call throws
   * `MX_ERR_RESPONSE_ALREADY_SENT`. Content-Length is set for you, bodies are
   * compressed when the client accepts it, and HEAD, 204 and 304 responses
   * never carry a body. Headers may be an object, `[name, value]` pairs or a
   * `Headers`; repeat a name with pairs or an array value.
   */
  respond(status: number, headers?: HeadersInit, body?: ResponseBody): void {
    if (this.#responded) throw new MxError('MX_ERR_RESPONSE_ALREADY_SENT', `${this.method} ${this.uri}`);
    validateStatus(status);
    if (body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array)) {
      throw new MxError('MX_ERR_BODY_INVALID', typeof body);
    }
    const raw = flattenHeaders(headers);
    validateHeaders(raw);
    const prepared = prepareResponse(
      this.method,
      () => this.headers.get('accept-encoding'),
      this.#config.compression,
      status,
      raw,
      body,
    );
    // Marked only once the response is built: a failure above leaves respond() callable (for the 500).
    this.#responded = true;
    this.#sink.send(prepared);
  }

  /** The `Last-Event-ID` header of a reconnecting EventSource, if any. */
  get lastEventId(): string | undefined {
    return this.headers.get('last-event-id');
  }

  /**
   * Answers with a server-sent events stream (200, `text/event-stream`,
   * `Cache-Control: no-cache, no-transform`, `X-Accel-Buffering: no`, never
   * compressed) and returns its handle. Counts as the response: a later
   * `respond()` throws `MX_ERR_RESPONSE_ALREADY_SENT`. The handle stays usable
   * after the handler returns, from any thread.
   */
  respondSSE(options: RespondSseOptions = {}): SseStream {
    if (this.#responded) throw new MxError('MX_ERR_RESPONSE_ALREADY_SENT', `${this.method} ${this.uri}`);
    const raw = flattenHeaders(options.headers);
    validateHeaders(raw);
    this.#responded = true;
    return new SseStream(this.#sink.openStream(raw));
  }

  /** True when the client asked to switch to WebSocket. */
  get isUpgrade(): boolean {
    return this.headers.get('upgrade')?.toLowerCase() === 'websocket';
  }

  /**
   * Completes the WebSocket handshake (101) and returns the connection's
   * handle; sends through it may start at once. Counts as the response. A
   * request that is not a valid upgrade gets 426 (no `Upgrade: websocket`),
   * 400 (bad handshake headers) or 403 (Origin not allowed), and this throws
   * an MxError with that `status`. Events then go to the server's
   * `websocketHandler`.
   */
  upgradeToWebSocket(options?: UpgradeOptions): WebSocket {
    if (this.#responded) throw new MxError('MX_ERR_RESPONSE_ALREADY_SENT', `${this.method} ${this.uri}`);
    if (options?.protocol !== undefined && !isToken(options.protocol)) {
      throw new MxError('MX_ERR_ARGUMENT_INVALID', `protocol must be a token, got ${JSON.stringify(options.protocol)}`);
    }
    this.#responded = true;
    return WebSocket.of(this.#sink.upgrade(options));
  }

  /**
   * Binds a session key to the thread running this request. In threaded mode,
   * later requests of routes whose `session` option returns this key go to
   * the same worker — even while it is busy — so state kept in that worker's
   * memory (an MCP session, a game room) is found again. Inline, it only
   * counts the session in `server.stats()`. Release the binding when the
   * session ends; a worker that exits releases its bindings (their requests
   * then go to another worker, which will not know the session).
   */
  bindSession(key: string): SessionBinding {
    if (typeof key !== 'string' || key.length === 0 || key.length > 256) {
      throw new MxError('MX_ERR_ARGUMENT_INVALID', 'a session key is a string of 1 to 256 characters');
    }
    const release = this.#sink.bindSession(key);
    return { key, release };
  }

  toString(): string {
    return `${this.method} ${this.uri} HTTP/${this.httpVersion}`;
  }
}
