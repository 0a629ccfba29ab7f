import { createServer as createHttpServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { MxError } from '../errors.js';
import { Request, type RequestConfig, type RequestHead } from '../http/request.js';
import { parseRequestTarget } from '../http/request-target.js';
import { runHandler } from '../execution/run-handler.js';
import { appUrlOf, loadApp } from '../execution/app-module.js';
import { WorkerPool, type PoolStats } from '../execution/worker-pool.js';
import { SessionKeys } from '../execution/session-keys.js';
import { logLevelRank, type LogLevel } from '../log/log-handler.js';
import { Router, runsOnIoThread, type RequestHandler, type Route } from '../router/router.js';
import { NodeResponseSink, type SinkContext } from './node-response-sink.js';
import { Transform, type Duplex, type Readable } from 'node:stream';
import { plainResponse, refusalResponse } from '../http/response.js';
import type { PoolSink } from '../execution/worker-pool.js';
import { UpgradeSink, writeRawResponse, type UpgradeContext } from './upgrade-sink.js';
import { createWss, type WsConnection } from './websocket-connection.js';
import type { WebSocketHandler } from '../websocket/websocket.js';
import type { SseConnection, StreamContext } from './sse-connection.js';
import { TopicHub } from '../pubsub/topic-hub.js';
import { liveServers } from '../pubsub/publish.js';
import { resolveOptions, type ResolvedOptions, type ServerOptions } from './options.js';

export interface ListenAddress {
  host: string;
  port: number;
  family: string;
  /** `http://host:port`, with IPv6 hosts in brackets. */
  url: string;
}

export interface ServerStats {
  /** Requests whose handler has been started. */
  requestsHandled: number;
  /** Requests received and not yet answered. */
  requestsInFlight: number;
  /** Open client connections. */
  connections: number;
  /** Open server-sent event streams. */
  streams: number;
  /** Open WebSocket connections. */
  websockets: number;
  /** Session keys bound with `request.bindSession()` and not yet released (on every thread). */
  sessions: number;
  /** Worker pool figures; undefined when handlers run inline. */
  pool: PoolStats | undefined;
}

/** Statuses the server answers by itself, each with a one-line reason in the body. */
const clientErrorStatus: Readonly<Record<string, number>> = {
  HPE_HEADER_OVERFLOW: 431,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
  HPE_INVALID_METHOD: 501,
};

/**
 * An HTTP/1.1 server. Parsing is Node's (llhttp, strict mode); this layer adds
 * limits, the answers Mummy leaves out (400, 408, 413, 414, 431, 501, 505
 * instead of a silent close), the Request API and graceful shutdown.
 */
export class Server {
  readonly #options: ResolvedOptions;
  #handler: RequestHandler | undefined;
  /**
   * The app's router, when it has routes that run on the IO thread (`inline` or stream-bodied):
   * consulted in threaded mode for placement, and in both modes to find stream-bodied routes.
   */
  #inlineRouter: Router | undefined;
  readonly #appUrl: string | undefined;
  #pool: WorkerPool | undefined;
  readonly #requestConfig: RequestConfig;
  readonly #http: ReturnType<typeof createHttpServer>;
  /** Open connections, each with the responses it still owes (pipelined requests queue up). */
  readonly #sockets = new Map<Duplex, { pending: Set<ServerResponse>; upgraded: boolean; remoteAddress: string }>();
  readonly #minLogRank: number;
  #listening = false;
  #starting: Promise<void> | undefined;
  #closing = false;
  #closed: Promise<void> | undefined;
  #requestsHandled = 0;
  readonly #hub = new TopicHub();
  #nextStreamId = 1;
  readonly #sinkContext: SinkContext;
  readonly #upgradeContext: UpgradeContext;
  #websocketHandler: WebSocketHandler | undefined;
  readonly #sessions = new SessionKeys();

  constructor(handler: RequestHandler | Router | undefined, options: ServerOptions = {}) {
    this.#options = resolveOptions(options);
    if (handler instanceof Router) {
      this.#handler = handler.handle;
      this.#inlineRouter = handler;
    } else if (typeof handler === 'function') this.#handler = handler;
    else if (handler !== undefined) throw new MxError('MX_ERR_HANDLER_MISSING');
    this.#appUrl = options.app === undefined ? undefined : appUrlOf(options.app);
    if (this.#options.threads !== undefined && this.#appUrl === undefined) {
      throw new MxError(
        'MX_ERR_OPTION_INVALID',
        'threads need an app module (functions cannot cross threads): createServer({ app: new URL("./app.js", import.meta.url), threads })',
      );
    }
    if (this.#handler === undefined && this.#appUrl === undefined) throw new MxError('MX_ERR_HANDLER_MISSING');
    this.#minLogRank = logLevelRank[this.#options.logLevel];
    const streams: StreamContext = {
      hub: this.#hub,
      heartbeatIntervalMs: this.#options.sseHeartbeatIntervalMs,
      maxBufferedBytes: this.#options.sseMaxBufferedBytes,
      streams: new Set<SseConnection>(),
      log: (level, message) => this.log(level, message),
    };
    this.#sinkContext = {
      isClosing: () => this.#closing,
      nextStreamId: () => this.#nextStreamId++,
      streams,
      sessions: this.#sessions,
    };
    this.#websocketHandler = options.websocketHandler;
    const ws = this.#options.websocket;
    const currentHandler = (): WebSocketHandler | undefined => this.#websocketHandler;
    this.#upgradeContext = {
      sessions: this.#sessions,
      nextId: () => this.#nextStreamId++,
      verifyOrigin: ws.verifyOrigin,
      websockets: {
        wss: createWss({
          maxMessageBytes: ws.maxMessageBytes,
          maxFragments: ws.maxFragments,
          perMessageDeflate: ws.perMessageDeflate,
          closeTimeoutMs: ws.closeTimeoutMs,
          handleProtocols: ws.handleProtocols,
        }),
        hub: this.#hub,
        heartbeatIntervalMs: ws.heartbeatIntervalMs,
        connections: new Set<WsConnection>(),
        get handler() {
          return currentHandler();
        },
        log: (level, message) => this.log(level, message),
      },
    };
    this.#requestConfig = { compression: this.#options.compression };
    const o = this.#options;
    this.#http = createHttpServer({
      maxHeaderSize: o.maxHeaderBytes,
      headersTimeout: o.headersTimeoutMs,
      requestTimeout: o.requestTimeoutMs,
      keepAliveTimeout: o.keepAliveTimeoutMs,
      // Timeouts are checked on this interval; keep it well under the shortest one.
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, o.headersTimeoutMs >> 2)),
      // Host is checked below, so a missing one gets the same plain 400 as a duplicate.
      requireHostHeader: false,
      joinDuplicateHeaders: false,
      noDelay: true,
    });
    this.#http.on('request', (req: IncomingMessage, res: ServerResponse) => this.#onRequest(req, res));
    this.#http.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => this.#onCheckContinue(req, res));
    this.#http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.#onUpgrade(req, socket, head),
    );
    this.#http.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => this.#onClientError(error, socket));
    // Without a 'connect' listener Node closes a CONNECT request's socket silently; this server
    // tunnels nothing, so CONNECT gets the 501 of any method it does not implement.
    this.#http.on('connect', (_req: IncomingMessage, socket: Socket) => {
      writeRawResponse(socket, refusalResponse(501, 'CONNECT is not supported: this server is not a proxy'));
      socket.destroySoon();
    });
    this.#http.on('connection', (socket: Socket) => {
      const state = { pending: new Set<ServerResponse>(), upgraded: false, remoteAddress: socket.remoteAddress ?? '' };
      this.#sockets.set(socket, state);
      socket.once('close', () => {
        // Node never closes a response still queued behind another when the connection drops.
        state.pending.clear();
        this.#sockets.delete(socket);
      });
    });
    this.#http.on('error', (error) => this.log('error', `server error: ${error.message}`));
  }

  /** Starts listening. `host` defaults to 127.0.0.1; port 0 picks a free port. */
  async listen(port: number, host = '127.0.0.1'): Promise<ListenAddress> {
    if (this.#listening) throw new MxError('MX_ERR_SERVER_LISTENING');
    if (this.#closed !== undefined) throw new MxError('MX_ERR_SERVER_CLOSED');
    this.#listening = true;
    const starting = this.#start(port, host);
    // close() waits for a start in progress, whatever its outcome.
    this.#starting = starting.then(
      () => {},
      () => {},
    );
    return starting;
  }

  async #start(port: number, host: string): Promise<ListenAddress> {
    try {
      await this.#prepare();
    } catch (error) {
      this.#listening = false;
      throw error;
    }
    if (this.#closing) {
      // close() was called while the pool started: do not open the port.
      await this.#pool?.close(0);
      this.#listening = false;
      throw new MxError('MX_ERR_SERVER_CLOSED', 'close() was called while the server was starting');
    }
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        this.#listening = false;
        reject(error);
      };
      this.#http.once('error', onError);
      this.#http.listen(port, host, () => {
        this.#http.off('error', onError);
        liveServers.add(this);
        resolve();
      });
    });
    return this.address()!;
  }

  /** Loads the app module and starts the worker pool, before the port opens. */
  async #prepare(): Promise<void> {
    if (this.#appUrl === undefined) return;
    const app = await loadApp(this.#appUrl);
    const threads = this.#options.threads;
    this.#handler = app.handler;
    this.#websocketHandler ??= app.websocketHandler;
    const router = app.router;
    this.#inlineRouter =
      router !== undefined && (router.hasInlineRoutes || router.hasSessionRoutes) ? router : undefined;
    if (threads === undefined) return;
    const pool = new WorkerPool({
      appUrl: this.#appUrl,
      min: threads.min,
      max: threads.max,
      idleTimeoutMs: threads.idleTimeoutMs,
      maxQueuedRequests: this.#options.maxQueuedRequests,
      handlerTimeoutMs: this.#options.handlerTimeoutMs,
      workerNice: this.#options.workerNice,
      tierUpFactor: this.#options.tierUpFactor,
      compression: this.#options.compression,
      logLevel: this.#options.logLevel,
      log: this.#log,
      publish: (topic, data) => this.#hub.publish(topic, data),
      nextId: () => this.#nextStreamId++,
    });
    try {
      await pool.start();
    } catch (error) {
      await pool.close(0);
      throw error;
    }
    this.#pool = pool;
  }

  /** The bound address, once listening. */
  address(): ListenAddress | undefined {
    const info = this.#http.address() as AddressInfo | null;
    if (info === null || typeof info === 'string') return undefined;
    const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
    return { host: info.address, port: info.port, family: info.family, url: `http://${host}:${info.port}` };
  }

  /**
   * Graceful close: stops accepting, closes idle keep-alive connections, lets
   * in-flight requests finish (their responses carry `Connection: close`) for
   * up to `closeTimeoutMs`, then closes whatever is left. Idempotent.
   */
  close(): Promise<void> {
    this.#closed ??= this.#shutdown();
    return this.#closed;
  }

  #requestsInFlight(): number {
    let count = 0;
    for (const state of this.#sockets.values()) count += state.pending.size;
    return count;
  }

  stats(): ServerStats {
    return {
      requestsHandled: this.#requestsHandled,
      requestsInFlight: this.#requestsInFlight(),
      connections: this.#sockets.size,
      streams: this.#sinkContext.streams.streams.size,
      websockets: this.#upgradeContext.websockets.connections.size,
      sessions: this.#sessions.size + (this.#pool?.sessionCount ?? 0),
      pool: this.#pool?.stats(),
    };
  }

  /**
   * Sends `data` to every SSE stream (and WebSocket) subscribed to `topic`,
   * from the IO thread. Strings become an event's data; objects are sent as
   * SSE events (`{ event, id, data, retry }`). Returns the subscriber count.
   * On a worker thread use the exported `publish()`.
   */
  publish(topic: string, data: unknown): number {
    return this.#hub.publish(topic, data);
  }

  /** Logs through the configured handler when `level` is enabled. */
  log(level: LogLevel, message: string): void {
    if (logLevelRank[level] < this.#minLogRank) return;
    try {
      this.#options.logHandler(level, message);
    } catch {
      // A failing log handler must not take a request down with it.
    }
  }

  readonly #log = (level: LogLevel, message: string): void => this.log(level, message);

  async #shutdown(): Promise<void> {
    this.#closing = true;
    liveServers.delete(this);
    // Event streams and WebSockets never finish by themselves: end them so their connections can close.
    for (const stream of [...this.#sinkContext.streams.streams]) stream.close();
    for (const websocket of [...this.#upgradeContext.websockets.connections])
      websocket.close(1001, 'server shutting down');
    await this.#starting;
    if (!this.#http.listening) {
      await this.#pool?.close(0);
      return;
    }
    const started = Date.now();
    const closed = new Promise<void>((resolve) => this.#http.close(() => resolve()));
    this.#http.closeIdleConnections();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        if (this.#sockets.size > 0)
          this.log('info', `close: ${this.#sockets.size} connection(s) still open at the deadline; closing them`);
        this.#http.closeAllConnections();
        for (const socket of this.#sockets.keys()) socket.destroy();
        resolve();
      }, this.#options.closeTimeoutMs);
    });
    // Connections that owe no response close right away — including ones that never sent a
    // request, which Node does not count as idle — and so do those that finish while draining.
    const closeIdle = (): void => {
      this.#http.closeIdleConnections();
      for (const [socket, state] of this.#sockets) {
        // Nothing owed, nothing attached, nothing left to flush.
        const attached = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
        if (state.pending.size === 0 && !state.upgraded && attached == null && socket.writableLength === 0) {
          socket.destroy();
        }
      }
    };
    closeIdle();
    const sweep = setInterval(closeIdle, 50);
    try {
      await Promise.race([closed, deadline]);
      await closed;
      // The server's close callback can run before the sockets' own close events.
      await Promise.all(
        [...this.#sockets.keys()].map((socket) => new Promise((resolve) => socket.once('close', resolve))),
      );
    } finally {
      clearTimeout(timer);
      clearInterval(sweep);
    }
    await this.#pool?.close(Math.max(0, this.#options.closeTimeoutMs - (Date.now() - started)));
  }

  #onCheckContinue(req: IncomingMessage, res: ServerResponse): void {
    // Refuse an oversized body before the client sends it; otherwise invite it.
    const length = req.headers['content-length'];
    const path = parseRequestTarget(req.url ?? '')?.path;
    const route = path === undefined ? undefined : this.#streamRouteOf(req.method ?? '', path);
    const limit = route === undefined ? this.#options.maxBodyBytes : (route.options.maxStreamBytes ?? Infinity);
    if (length !== undefined && Number(length) > limit) {
      this.#onRequest(req, res);
      return;
    }
    res.writeContinue();
    this.#onRequest(req, res);
  }

  #onClientError(error: NodeJS.ErrnoException, socket: Socket): void {
    const code = error.code ?? '';
    // Bytes after a request that closes the connection: Node still answers that request, then closes.
    if (code === 'HPE_CLOSED_CONNECTION') return;
    if (code === 'ECONNRESET' || code === 'EPIPE' || !socket.writable) {
      socket.destroy();
      return;
    }
    let status = clientErrorStatus[code] ?? 400;
    // An unknown but well-formed method is 501 (RFC 9110 §9.1); bytes that are no method at all are 400.
    if (status === 501 && !isTokenThenSpace((error as { rawPacket?: Buffer }).rawPacket)) status = 400;
    const reason = STATUS_CODES[status] ?? 'Bad Request';
    this.log('debug', `client error ${code} from ${socket.remoteAddress ?? '?'}: answering ${status}`);
    // Node marks a socket whose response already started; never write a second status line into it.
    const pending = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (pending?.headersSent === true) {
      socket.destroy();
      return;
    }
    writeRawResponse(socket, plainResponse(status, reason));
    socket.destroySoon();
  }

  #reject(res: ServerResponse, status: number, message: string): void {
    this.log('debug', `${status}: ${message}`);
    this.#sockets.get(res.req.socket)?.pending.delete(res);
    const response = refusalResponse(status, message);
    res.shouldKeepAlive = false;
    res.writeHead(status, response.headers);
    res.end(response.body);
  }

  /**
   * Checks what llhttp leaves to us and builds the request head, or returns
   * the status and reason to refuse it with.
   */
  #readHead(
    req: IncomingMessage,
    remoteAddress: string,
  ): { head: RequestHead; hasBody: boolean } | { status: number; reason: string } {
    const o = this.#options;
    if (req.httpVersionMajor !== 1 || req.httpVersionMinor > 1) {
      return { status: 505, reason: `HTTP/${req.httpVersion} is not supported` };
    }
    const uri = req.url ?? '';
    if (uri.length > o.maxUriBytes) return { status: 414, reason: `request target longer than ${o.maxUriBytes} bytes` };
    // One pass over the raw fields.
    const raw = req.rawHeaders;
    let hosts = 0;
    let lengths = 0;
    let hasBody = false;
    let chunked = true;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      if (isName(name, 'host')) hosts++;
      else if (isName(name, 'content-length')) {
        lengths++;
        if (raw[i + 1] !== '0') hasBody = true;
      } else if (isName(name, 'transfer-encoding')) {
        hasBody = true;
        if (raw[i + 1]!.trim().toLowerCase() !== 'chunked') chunked = false;
      }
    }
    if (hosts === 0 && req.httpVersionMinor === 1)
      return { status: 400, reason: 'HTTP/1.1 request without a Host header' };
    if (hosts > 1) return { status: 400, reason: 'more than one Host header' };
    if (lengths > 1) return { status: 400, reason: 'more than one Content-Length header' };
    // llhttp decodes only chunked; a body in any other coding would reach the handler still encoded.
    if (!chunked) return { status: 501, reason: 'only the chunked transfer coding is supported' };
    if (uri === '*' && req.method !== 'OPTIONS') {
      return { status: 400, reason: 'asterisk-form request target is only valid for OPTIONS' };
    }
    const target = parseRequestTarget(uri);
    if (target === undefined) return { status: 400, reason: 'malformed percent-encoding in the request target' };
    const head: RequestHead = {
      method: req.method ?? 'GET',
      uri,
      httpVersion: req.httpVersionMinor === 0 ? '1.0' : '1.1',
      rawHeaders: raw,
      remoteAddress,
      path: target.path,
      search: target.search,
    };
    return { head, hasBody };
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const o = this.#options;
    const state = this.#sockets.get(req.socket);
    const read = this.#readHead(req, state?.remoteAddress ?? req.socket.remoteAddress ?? '');
    if ('status' in read) {
      this.#reject(res, read.status, read.reason);
      return;
    }
    const { head, hasBody } = read;
    // Counted until the response is written (NodeResponseSink settles it) or the connection drops.
    const pending = state?.pending;
    pending?.add(res);
    const sink = new NodeResponseSink(res, this.#sinkContext, pending);
    if (!hasBody) {
      this.#execute(head, undefined, sink);
      return;
    }
    req.on('error', () => {});
    const route = this.#streamRouteOf(head.method, head.path);
    if (route !== undefined) {
      this.#executeStreamed(head, req, res, sink, route.options.maxStreamBytes);
      return;
    }
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > o.maxBodyBytes) {
      this.#reject(res, 413, `body of ${declared} bytes exceeds maxBodyBytes (${o.maxBodyBytes})`);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let rejected = false;
    req.on('data', (chunk: Buffer) => {
      if (rejected) return;
      size += chunk.length;
      if (size > o.maxBodyBytes) {
        rejected = true;
        chunks.length = 0;
        this.#reject(res, 413, `body exceeds maxBodyBytes (${o.maxBodyBytes})`);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (rejected) return;
      this.#execute(head, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size), sink);
    });
  }

  /** The stream-bodied route for a request, if it has one. */
  #streamRouteOf(method: string, path: string): Route | undefined {
    const found = this.#inlineRouter?.match(method, path);
    return found?.kind === 'route' && found.route.options.body === 'stream' ? found.route : undefined;
  }

  /**
   * Runs a stream-bodied route on this (the IO) thread with the live body: Node's request is a
   * Readable that pauses the socket while the handler does not read, so nothing piles up.
   */
  #executeStreamed(
    head: RequestHead,
    req: IncomingMessage,
    res: ServerResponse,
    sink: NodeResponseSink,
    limit: number | undefined,
  ): void {
    const declared = req.headers['content-length'];
    if (limit !== undefined && declared !== undefined && Number(declared) > limit) {
      this.#reject(res, 413, `body of ${declared} bytes exceeds maxStreamBytes (${limit})`);
      return;
    }
    sink.closeIfBodyUnread = true;
    this.#requestsHandled++;
    let body: Readable = req;
    if (limit !== undefined) {
      // Chunked bodies announce no size: count, and stop reading (413) at the first byte too many.
      let size = 0;
      const counted = new Transform({
        transform(chunk: Buffer, _encoding, done): void {
          size += chunk.length;
          if (size > limit) {
            done(new MxError('MX_ERR_BODY_TOO_LARGE', `body exceeds maxStreamBytes (${limit})`, { status: 413 }));
          } else done(null, chunk);
        },
      });
      counted.on('error', (error) => {
        if (error instanceof MxError && !request.responded) {
          request.respond(
            413,
            { 'Content-Type': 'text/plain; charset=utf-8' },
            `Payload Too Large: ${error.message}\n`,
          );
        }
      });
      req.on('error', (error) => counted.destroy(error));
      req.pipe(counted);
      body = counted;
    }
    const request = new Request(head, undefined, sink, this.#requestConfig, body);
    void runHandler(this.#handler!, request, this.#log);
  }

  /** A request with `Upgrade`: routed like any other; its handler may answer or upgrade. */
  #onUpgrade(req: IncomingMessage, socket: Duplex, headBytes: Buffer): void {
    socket.on('error', () => {});
    const state = this.#sockets.get(socket);
    if (state !== undefined) state.upgraded = true;
    req.on('error', () => {});
    const read = this.#readHead(req, state?.remoteAddress ?? req.socket.remoteAddress ?? '');
    if ('status' in read) {
      this.log('debug', `${read.status}: ${read.reason}`);
      writeRawResponse(socket, refusalResponse(read.status, read.reason));
      return;
    }
    if (this.#closing) {
      writeRawResponse(socket, plainResponse(503, 'Service Unavailable: server is shutting down'));
      return;
    }
    this.#execute(read.head, undefined, new UpgradeSink(req, socket, headBytes, this.#upgradeContext));
  }

  /** A route's session key for a request; a throwing `session` function counts as no key. */
  #sessionKeyOf(
    session: (request: Request) => string | undefined,
    pathParams: Record<string, string>,
    head: RequestHead,
    body: Buffer | undefined,
    sink: PoolSink,
  ): string | undefined {
    try {
      const request = new Request(head, body, sink, this.#requestConfig);
      request.pathParams = pathParams;
      const key = session(request);
      return typeof key === 'string' && key.length > 0 ? key : undefined;
    } catch (error) {
      this.log('error', `the session option of ${head.method} ${head.path} threw: ${String(error)}`);
      return undefined;
    }
  }

  #execute(head: RequestHead, body: Buffer | undefined, sink: PoolSink): void {
    this.#requestsHandled++;
    const pool = this.#pool;
    if (pool !== undefined) {
      const router = this.#inlineRouter;
      const found = router?.match(head.method, head.path);
      if (found === undefined || found.kind !== 'route') {
        pool.dispatch(head, body, sink);
        return;
      }
      const session = found.route.options.session;
      if (session !== undefined && !runsOnIoThread(found.route)) {
        pool.dispatchSession(this.#sessionKeyOf(session, found.pathParams, head, body, sink), head, body, sink);
        return;
      }
      if (!runsOnIoThread(found.route)) {
        pool.dispatch(head, body, sink);
        return;
      }
    }
    const request = new Request(head, body, sink, this.#requestConfig);
    // runHandler never rejects: handler errors become 500s.
    void runHandler(this.#handler!, request, this.#log);
  }
}

/** Case-insensitive match of a header name against a lower-case one, without allocating. */
function isName(name: string, lower: string): boolean {
  if (name.length !== lower.length) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if ((c >= 65 && c <= 90 ? c | 0x20 : c) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

function isTokenThenSpace(packet: Buffer | undefined): boolean {
  if (packet === undefined) return false;
  const text = packet.subarray(0, 32).toString('latin1');
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+ /.test(text);
}

/**
 * Creates a server for a handler or a router, run inline on the IO thread; or,
 * given only options with `app`, for an app module run on `threads` workers.
 * See `ServerOptions` for limits, timeouts and their defaults.
 */
export function createServer(handler: RequestHandler | Router, options?: ServerOptions): Server;
export function createServer(options: ServerOptions & { app: URL | string }): Server;
export function createServer(first: RequestHandler | Router | ServerOptions, options?: ServerOptions): Server {
  if (typeof first === 'function' || first instanceof Router) return new Server(first, options);
  return new Server(undefined, first);
}
