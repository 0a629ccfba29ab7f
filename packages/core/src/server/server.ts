import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { MxError } from '../errors.js';
import { logLevelRank, type LogLevel } from '../log/log-handler.js';
import { nodeHttp } from '../node-modules.js';
import { liveServers } from '../pubsub/publish.js';
import type { TopicBroker } from '../pubsub/topic-broker.js';
import { TopicHub } from '../pubsub/topic-hub.js';
import { Router, type RequestHandler } from '../router/router.js';
import type { SseConnection, StreamContext } from '../sse/sse-connection.js';
import { appUrlOf, loadApp } from '../threads/app-module.js';
import { SessionRegistry, type IoSessions } from '../threads/session-registry.js';
import type { WorkerPool } from '../threads/worker-pool.js';
import { createWss, type WsConnection } from '../websocket/websocket-connection.js';
import type { WebSocketHandler } from '../websocket/websocket.js';
import { answerClientError, answerConnect } from './client-error.js';
import { closeConnections, refuseConnection, trackConnection } from './connection-lifecycle.js';
import { ConnectionWatch } from './connection-watch.js';
import type { SinkContext } from './node-response-sink.js';
import type { ResponseStreams } from './response-body-pipe.js';
import { resolveOptions, type ResolvedOptions, type ServerOptions } from './options.js';
import { RequestIntake, type ConnectionState } from './request-intake.js';
import { countRequestsInFlight, type ServerStats } from './server-stats.js';
import type { SessionDirectory } from './session-directory.js';
import type { UpgradeContext } from './upgrade-sink.js';

export type { ServerStats } from './server-stats.js';

export interface ListenAddress {
  host: string;
  port: number;
  family: string;
  /** `http://host:port`, with IPv6 hosts in brackets. */
  url: string;
}

/**
 * An HTTP/1.1 server. Parsing is Node's (llhttp, strict mode); this layer adds
 * limits, the answers Mummy leaves out (400, 408, 413, 414, 431, 501, 505
 * instead of a silent close), the Request API and graceful shutdown.
 */
export class Server {
  readonly #options: ResolvedOptions;
  readonly #appUrl: string | undefined;
  #pool: WorkerPool | undefined;
  /** The pool while it starts: close() stops it there. */
  #startingPool: WorkerPool | undefined;
  readonly #intake: RequestIntake;
  readonly #watch: ConnectionWatch;
  /** What the limits did, for stats(). */
  readonly #counters = { connectionsRefused: 0, writeTimeouts: 0, bodyTimeouts: 0, bufferOverflows: 0 };
  readonly #http: HttpServer;
  /** Open connections, each with the responses it still owes (pipelined requests queue up). */
  readonly #sockets = new Map<Duplex, ConnectionState>();
  readonly #minLogRank: number;
  #listening = false;
  #starting: Promise<void> | undefined;
  #closing = false;
  #closed: Promise<void> | undefined;
  readonly #hub = new TopicHub();
  #nextStreamId = 1;
  readonly #sinkContext: SinkContext;
  readonly #upgradeContext: UpgradeContext;
  #websocketHandler: WebSocketHandler | undefined;
  readonly #sessions: IoSessions = new SessionRegistry();
  #broker: TopicBroker | undefined;
  #directory: SessionDirectory | undefined;

  constructor(handler: RequestHandler | Router | undefined, options: ServerOptions = {}) {
    this.#options = resolveOptions(options);
    let requestHandler: RequestHandler | undefined;
    if (handler instanceof Router) requestHandler = handler.handle;
    else if (typeof handler === 'function') requestHandler = handler;
    else if (handler !== undefined) throw new MxError('MX_ERR_HANDLER_MISSING');
    this.#appUrl = options.app === undefined ? undefined : appUrlOf(options.app);
    if (this.#options.threads !== undefined && this.#appUrl === undefined) {
      throw new MxError(
        'MX_ERR_OPTION_INVALID',
        'threads need an app module (functions cannot cross threads): createServer({ app: new URL("./app.js", import.meta.url), threads })',
      );
    }
    if (requestHandler === undefined && this.#appUrl === undefined) throw new MxError('MX_ERR_HANDLER_MISSING');
    this.#minLogRank = logLevelRank[this.#options.logLevel];
    const streams: StreamContext = {
      hub: this.#hub,
      heartbeatIntervalMs: this.#options.sseHeartbeatIntervalMs,
      maxBufferedBytes: this.#options.sseMaxBufferedBytes,
      streams: new Set<SseConnection>(),
      overflowed: () => this.#counters.bufferOverflows++,
      log: (level, message) => this.log(level, message),
    };
    const responseStreams: ResponseStreams = { open: 0, log: (level, message) => this.log(level, message) };
    this.#sinkContext = {
      isClosing: () => this.#closing,
      nextStreamId: () => this.#nextStreamId++,
      streams,
      responseStreams,
      sessions: this.#sessions,
    };
    this.#websocketHandler = options.websocketHandler;
    const ws = this.#options.websocket;
    const currentHandler = (): WebSocketHandler | undefined => this.#websocketHandler;
    this.#upgradeContext = {
      sessions: this.#sessions,
      responseStreams,
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
        maxBufferedBytes: ws.maxBufferedBytes,
        closeTimeoutMs: ws.closeTimeoutMs,
        overflowed: () => this.#counters.bufferOverflows++,
        connections: new Set<WsConnection>(),
        get handler() {
          return currentHandler();
        },
        log: (level, message) => this.log(level, message),
      },
    };
    this.#intake = new RequestIntake(
      this.#options,
      this.#sockets,
      { sink: this.#sinkContext, upgrade: this.#upgradeContext, request: { compression: this.#options.compression } },
      this.#log,
      () => this.#counters.bodyTimeouts++,
    );
    // An inline router is matched for stream-bodied routes.
    this.#intake.use(requestHandler, handler instanceof Router ? handler : undefined, undefined);
    const o = this.#options;
    this.#http = nodeHttp().createServer({
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
    const intake = this.#intake;
    this.#http.on('request', (req: IncomingMessage, res: ServerResponse) => intake.receive(req, res));
    this.#http.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => intake.checkContinue(req, res));
    this.#http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      intake.receiveUpgrade(req, socket, head),
    );
    this.#http.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) =>
      answerClientError(error, socket, this.#log),
    );
    this.#http.on('connect', (_req: IncomingMessage, socket: Socket) => answerConnect(socket));
    this.#http.on('connection', (socket: Socket) => {
      if (this.#closing || this.#sockets.size >= o.maxConnections) {
        this.#refuse(socket);
        return;
      }
      trackConnection(this.#sockets, socket, o.maxPipelinedRequests);
    });
    this.#http.on('error', (error) => this.log('error', `server error: ${error.message}`));
    this.#watch = new ConnectionWatch(this.#sockets, o, (socket) => {
      this.#counters.writeTimeouts++;
      this.log(
        'info',
        `${new MxError('MX_ERR_WRITE_TIMEOUT').message}: ${socket.remoteAddress ?? '?'} took no bytes for ${o.writeTimeoutMs} ms; closing its connection`,
      );
      socket.destroy();
    });
  }

  /** A connection the server will not serve: counted and logged unless closing, then refused (503). */
  #refuse(socket: Socket): void {
    const closing = this.#closing;
    if (!closing) {
      this.#counters.connectionsRefused++;
      this.log(
        'info',
        `${new MxError('MX_ERR_CONNECTION_LIMIT').message}: ${this.#sockets.size} open (maxConnections ${this.#options.maxConnections}); 503 for ${socket.remoteAddress ?? '?'}`,
      );
    }
    refuseConnection(socket, closing);
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
      if (this.#closing) throw new MxError('MX_ERR_SERVER_CLOSED', 'close() was called while the server was starting');
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
        this.#watch.start();
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
    this.#websocketHandler ??= app.websocketHandler;
    const router = app.router;
    // Matched for placement only when some route runs on the IO thread or routes by session.
    const placing = router !== undefined && (router.hasInlineRoutes || router.hasSessionRoutes) ? router : undefined;
    this.#intake.use(app.handler, placing, undefined);
    if (threads === undefined) return;
    if (this.#closing) throw new MxError('MX_ERR_SERVER_CLOSED', 'close() was called while the server was starting');
    // Loaded here, not with the library: every worker thread imports the library (through the app
    // module) and never runs a pool.
    const { WorkerPool } = await import('../threads/worker-pool.js');
    const pool = new WorkerPool({
      appUrl: this.#appUrl,
      min: threads.min,
      max: threads.max,
      idleTimeoutMs: threads.idleTimeoutMs,
      maxQueuedRequests: this.#options.maxQueuedRequests,
      handlerTimeoutMs: this.#options.handlerTimeoutMs,
      workerNice: this.#options.workerNice,
      resourceLimits: this.#options.workerResourceLimits,
      tierUpFactor: this.#options.tierUpFactor,
      compression: this.#options.compression,
      logLevel: this.#options.logLevel,
      log: this.#log,
      publish: (topic, data) => this.publish(topic, data),
      nextId: () => this.#nextStreamId++,
    });
    this.#startingPool = pool;
    try {
      await pool.start();
    } catch (error) {
      await pool.close(0);
      throw error;
    } finally {
      this.#startingPool = undefined;
    }
    this.#pool = pool;
    if (this.#directory !== undefined) pool.onSessionKeyChange = this.#sessionKeyChange;
    this.#intake.use(app.handler, placing, pool);
  }

  /** The bound address, once listening. */
  address(): ListenAddress | undefined {
    const info = this.#http.address() as AddressInfo | null;
    if (info === null || typeof info === 'string') return undefined;
    const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
    return { host: info.address, port: info.port, family: info.family, url: `http://${host}:${info.port}` };
  }

  /**
   * Graceful close, done within `closeTimeoutMs`: requests that reached the
   * server before it began are answered — served, their responses carrying
   * `Connection: close`; connections still in the listener's backlog are
   * accepted for a short drain window (at most 1 s) and answered 503 with
   * `Retry-After`. Idle connections close; in-flight requests finish until
   * `closeTimeoutMs`, then whatever is left is closed and the worker threads
   * are terminated. A server still starting stops starting (`listen()` then
   * rejects with MX_ERR_SERVER_CLOSED). Idempotent.
   */
  close(): Promise<void> {
    this.#closed ??= this.#shutdown();
    return this.#closed;
  }

  stats(): ServerStats {
    return {
      requestsHandled: this.#intake.requestsHandled,
      requestsInFlight: countRequestsInFlight(this.#sockets),
      connections: this.#sockets.size,
      streams: this.#sinkContext.streams.streams.size,
      streamedResponses: this.#sinkContext.responseStreams.open,
      websockets: this.#upgradeContext.websockets.connections.size,
      sessions: this.#sessions.size + (this.#pool?.sessionCount ?? 0),
      ...this.#counters,
      pool: this.#pool?.stats(),
      broker: this.#broker?.stats(),
      sessionDirectory: this.#directory?.stats(),
    };
  }

  /**
   * Carries this server's pub/sub topics to the other nodes of a cluster and
   * theirs here (see `TopicBroker`; `@mummyx/redis` has one). Call it once,
   * on the IO thread, before or after `listen()`.
   */
  attachBroker(broker: TopicBroker): void {
    if (this.#broker !== undefined) throw new MxError('MX_ERR_OPTION_INVALID', 'a topic broker is attached already');
    if (this.#closed !== undefined) throw new MxError('MX_ERR_SERVER_CLOSED');
    this.#broker = broker;
    this.#hub.onTopicChange = (topic, isActive) => broker.topicChanged(topic, isActive);
    broker.attach((topic, data) => this.#hub.publish(topic, data), this.#hub.topics());
  }

  /**
   * Lets requests of session routes whose session lives on another node of
   * a cluster reach it: this node's session keys are claimed in `directory`,
   * and a request for a key held elsewhere is forwarded there (see
   * `SessionDirectory`; `@mummyx/redis` has one). Call it once, on the IO
   * thread, before sessions are opened (before `listen()`).
   */
  attachSessionDirectory(directory: SessionDirectory): void {
    if (this.#directory !== undefined) {
      throw new MxError('MX_ERR_OPTION_INVALID', 'a session directory is attached already');
    }
    if (this.#closed !== undefined) throw new MxError('MX_ERR_SERVER_CLOSED');
    this.#directory = directory;
    this.#sessions.onKeyChange = this.#sessionKeyChange;
    if (this.#pool !== undefined) this.#pool.onSessionKeyChange = this.#sessionKeyChange;
    this.#intake.useSessionDirectory(
      directory,
      (key) => this.#sessions.ownerOf(key) !== undefined || this.#pool?.isSessionBound(key) === true,
    );
  }

  readonly #sessionKeyChange = (key: string, isBound: boolean): void => {
    try {
      if (isBound) this.#directory?.claim(key);
      else this.#directory?.release(key);
    } catch (error) {
      this.log('error', `session directory: ${String(error)}`);
    }
  };

  /**
   * Sends `data` to every SSE stream (and WebSocket) subscribed to `topic`,
   * from the IO thread. Strings become an event's data; objects are sent as
   * SSE events (`{ event, id, data, retry }`). Returns the subscriber count
   * on this node; with a broker attached, the other nodes' subscribers get it
   * too.
   * On a worker thread use the exported `publish()`.
   */
  publish(topic: string, data: unknown): number {
    const count = this.#hub.publish(topic, data);
    this.#broker?.publish(topic, data);
    return count;
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
    const started = Date.now();
    const closeTimeoutMs = this.#options.closeTimeoutMs;
    const remainingMs = (): number => Math.max(0, closeTimeoutMs - (Date.now() - started));
    // Event streams and WebSockets never finish by themselves: end them so their connections can close.
    for (const stream of [...this.#sinkContext.streams.streams]) stream.close();
    for (const websocket of [...this.#upgradeContext.websockets.connections])
      websocket.close(1001, 'server shutting down');
    if (!this.#http.listening && this.#starting !== undefined) {
      // Still starting: a pool that is starting stops now (its workers are terminated), and
      // listen() fails with MX_ERR_SERVER_CLOSED, instead of this waiting for every worker to load.
      void this.#startingPool?.close(0);
      await this.#starting;
    }
    if (!this.#http.listening) {
      await this.#pool?.close(0);
      this.#broker?.detach();
      this.#intake.useSessionDirectory(undefined, () => false);
      return;
    }
    try {
      await closeConnections(this.#http, this.#sockets, closeTimeoutMs, remainingMs, this.#log);
    } finally {
      this.#watch.stop();
    }
    await this.#pool?.close(remainingMs());
    this.#broker?.detach();
    this.#intake.useSessionDirectory(undefined, () => false);
  }
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
