import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform, type Duplex, type Readable } from 'node:stream';
import { MxError } from '../errors.js';
import { Request, type RequestConfig, type RequestHead } from '../http/request.js';
import { parseRequestTarget } from '../http/request-target.js';
import { plainResponse, refusalResponse } from '../http/response.js';
import type { LogLevel } from '../log/log-handler.js';
import type { RequestHandler, RouteMatch, Router } from '../router/router.js';
import type { PoolSink } from '../threads/job.js';
import { runHandler } from '../threads/run-handler.js';
import type { WorkerPool } from '../threads/worker-pool.js';
import { bodyProgress, type WatchedConnection } from './connection-watch.js';
import { NodeResponseSink, type SinkContext } from './node-response-sink.js';
import type { PendingResponses } from './pending-responses.js';
import { placementOf, type Placement } from './placement.js';
import { readHead } from './request-head.js';
import type { SessionDirectory } from './session-directory.js';
import { isForwarded, SessionForwarding } from './session-forwarding.js';
import { UpgradeSink, writeRawResponse, type UpgradeContext } from './upgrade-sink.js';

/** One client connection: the responses it still owes (pipelined requests queue up), and what the watch keeps. */
export interface ConnectionState extends WatchedConnection {
  pending: PendingResponses;
  upgraded: boolean;
  remoteAddress: string;
}

type RouteFound = Extract<RouteMatch, { kind: 'route' }>;

/**
 * Every request's way in, on the IO thread: the head checked (request-head.ts),
 * the body buffered up to `maxBodyBytes` or streamed to a stream-bodied
 * route, one match against the app's router, and the request run where
 * `placementOf` says — inline, streamed, on its session's worker or on the
 * pool.
 */
interface IntakeOptions {
  maxBodyBytes: number;
  maxUriBytes: number;
  bodyTimeoutMs: number;
}

export class RequestIntake {
  readonly #options: IntakeOptions;
  readonly #sockets: Map<Duplex, ConnectionState>;
  readonly #sinkContext: SinkContext;
  readonly #upgradeContext: UpgradeContext;
  readonly #requestConfig: RequestConfig;
  readonly #log: (level: LogLevel, message: string) => void;
  readonly #onBodyTimeout: () => void;
  #handler: RequestHandler | undefined;
  /**
   * The app's router, when it has routes that run on the IO thread (`inline` or stream-bodied)
   * or route by session: matched for placement in threaded mode, and for stream-bodied routes in both.
   */
  #router: Router | undefined;
  #pool: WorkerPool | undefined;
  #requestsHandled = 0;
  #cluster:
    { directory: SessionDirectory; forwarding: SessionForwarding; isBound: (key: string) => boolean } | undefined;

  /** `onBodyTimeout` counts a request answered 408 for a slow body. */
  constructor(
    options: IntakeOptions,
    sockets: Map<Duplex, ConnectionState>,
    contexts: { sink: SinkContext; upgrade: UpgradeContext; request: RequestConfig },
    log: (level: LogLevel, message: string) => void,
    onBodyTimeout: () => void,
  ) {
    this.#options = options;
    this.#sockets = sockets;
    this.#sinkContext = contexts.sink;
    this.#upgradeContext = contexts.upgrade;
    this.#requestConfig = contexts.request;
    this.#log = log;
    this.#onBodyTimeout = onBodyTimeout;
  }

  /** The app: its handler, its router when placement needs it, and the pool in threaded mode. */
  use(handler: RequestHandler | undefined, router: Router | undefined, pool: WorkerPool | undefined): void {
    this.#handler = handler;
    this.#router = router;
    this.#pool = pool;
  }

  /**
   * Looks up the session keys of session routes bound on no thread here, and
   * forwards their requests to the node that holds them.
   */
  useSessionDirectory(directory: SessionDirectory | undefined, isBound: (key: string) => boolean): void {
    this.#cluster?.forwarding.close();
    this.#cluster =
      directory === undefined ? undefined : { directory, forwarding: new SessionForwarding(this.#log), isBound };
  }

  /** Requests whose handler has been started. */
  get requestsHandled(): number {
    return this.#requestsHandled;
  }

  /** `Expect: 100-continue`: an oversized body is refused before the client sends it; otherwise invited. */
  checkContinue(req: IncomingMessage, res: ServerResponse): void {
    // A connection refused at once (see Server#refuse) is not answered again.
    if (!this.#sockets.has(req.socket)) return;
    const length = req.headers['content-length'];
    const path = parseRequestTarget(req.url ?? '')?.path;
    const found = path === undefined ? undefined : this.#router?.match(req.method ?? '', path);
    const route = found?.kind === 'route' && found.route.options.body === 'stream' ? found.route : undefined;
    const limit = route === undefined ? this.#options.maxBodyBytes : (route.options.maxStreamBytes ?? Infinity);
    if (!(length !== undefined && Number(length) > limit)) res.writeContinue();
    this.receive(req, res, found);
  }

  /**
   * A request without `Upgrade`; `matched` is its match when `checkContinue` already made it.
   * It runs once the connection has fewer than `maxPipelinedRequests` in flight (see PendingResponses).
   */
  receive(req: IncomingMessage, res: ServerResponse, matched?: RouteMatch): void {
    const state = this.#sockets.get(req.socket);
    // A connection refused at once (see Server#refuse) is not answered again.
    if (state === undefined) return;
    state.pending.admit(() => this.#receiveNow(req, res, state, matched));
  }

  #receiveNow(
    req: IncomingMessage,
    res: ServerResponse,
    state: ConnectionState,
    matched: RouteMatch | undefined,
  ): void {
    const read = readHead(req, state.remoteAddress, this.#options.maxUriBytes);
    if ('status' in read) {
      this.#reject(res, read.status, read.reason);
      return;
    }
    const { head, hasBody } = read;
    // Counted until the response is written (NodeResponseSink settles it) or the connection drops.
    const pending = state.pending;
    pending.add(res);
    const sink = new NodeResponseSink(res, this.#sinkContext, pending);
    const threaded = this.#pool !== undefined;
    // The one match: made only when there is something to decide (threaded, or a body that may stream).
    const found =
      matched ??
      (threaded || hasBody || this.#cluster !== undefined ? this.#router?.match(head.method, head.path) : undefined);
    const placement = placementOf(found, threaded);
    if (!hasBody) {
      this.#run(head, undefined, sink, placement, found);
      return;
    }
    req.on('error', () => {});
    if (placement === 'streamed') {
      this.#watchBody(req, res, state, () => {});
      this.#runStreamed(head, req, res, sink, (found as RouteFound).route.options.maxStreamBytes);
      return;
    }
    const o = this.#options;
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > o.maxBodyBytes) {
      this.#reject(res, 413, `body of ${declared} bytes exceeds maxBodyBytes (${o.maxBodyBytes})`);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let rejected = false;
    this.#watchBody(req, res, state, () => {
      rejected = true;
      chunks.length = 0;
    });
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
      this.#run(head, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size), sink, placement, found);
    });
  }

  /** A request with `Upgrade`: routed like any other; its handler may answer or upgrade. */
  receiveUpgrade(req: IncomingMessage, socket: Duplex, headBytes: Buffer): void {
    socket.on('error', () => {});
    const state = this.#sockets.get(socket);
    // A connection refused at once (see Server#refuse) is not answered again.
    if (state === undefined) return;
    state.upgraded = true;
    req.on('error', () => {});
    const read = readHead(req, state.remoteAddress, this.#options.maxUriBytes);
    if ('status' in read) {
      this.#log('debug', `${read.status}: ${read.reason}`);
      writeRawResponse(socket, refusalResponse(read.status, read.reason));
      return;
    }
    if (this.#sinkContext.isClosing()) {
      writeRawResponse(socket, plainResponse(503, 'Service Unavailable: server is shutting down'));
      return;
    }
    const head = read.head;
    const threaded = this.#pool !== undefined;
    const found = threaded ? this.#router?.match(head.method, head.path) : undefined;
    const sink = new UpgradeSink(req, socket, headBytes, this.#upgradeContext);
    this.#run(head, undefined, sink, placementOf(found, threaded), found);
  }

  /**
   * Watches the body's arrival (ConnectionWatch): one that is silent, or slower than
   * `minBodyBytesPerSecond`, for `bodyTimeoutMs` gets 408 and its connection closes after it.
   * `stop` drops what was received; a stream-bodied handler's body fails when the connection closes.
   */
  #watchBody(req: IncomingMessage, res: ServerResponse, state: ConnectionState, stop: () => void): void {
    if (this.#options.bodyTimeoutMs === 0) return;
    const watch = bodyProgress(req, (reason) => {
      if (state.body === watch) state.body = undefined;
      stop();
      this.#onBodyTimeout();
      const message = `${new MxError('MX_ERR_BODY_TIMEOUT').message}: ${reason}`;
      if (!res.headersSent && !res.destroyed) this.#reject(res, 408, message);
      else {
        this.#log('debug', `408: ${message}`);
        req.socket.destroy();
      }
    });
    state.body = watch;
    const done = (): void => {
      if (state.body === watch) state.body = undefined;
    };
    req.once('end', done);
    req.once('close', done);
  }

  #reject(res: ServerResponse, status: number, message: string): void {
    this.#log('debug', `${status}: ${message}`);
    this.#sockets.get(res.req.socket)?.pending.delete(res);
    const response = refusalResponse(status, message);
    res.shouldKeepAlive = false;
    res.writeHead(status, response.headers);
    res.end(response.body);
  }

  /** Runs a request (its body, if any, whole) where it was placed, or on the node that holds its session. */
  #run(
    head: RequestHead,
    body: Buffer | undefined,
    sink: PoolSink,
    placement: Placement,
    found: RouteMatch | undefined,
  ): void {
    const session = found?.kind === 'route' ? found.route.options.session : undefined;
    if (session === undefined || (placement !== 'session' && this.#cluster === undefined)) {
      this.#place(head, body, sink, placement, undefined);
      return;
    }
    const key = this.#sessionKeyOf(session, (found as RouteFound).pathParams, head, body, sink);
    const cluster = this.#cluster;
    if (cluster === undefined || typeof key !== 'string' || cluster.isBound(key) || isForwarded(head)) {
      this.#place(head, body, sink, placement, key);
      return;
    }
    // Bound nowhere here: another node may hold it.
    cluster.directory.locate(key).then(
      (origin) => {
        if (origin === undefined) this.#place(head, body, sink, placement, key);
        else {
          this.#requestsHandled++;
          cluster.forwarding.forward(origin, cluster.directory.nodeId, head, body, sink);
        }
      },
      (error: unknown) => {
        this.#log('error', `session lookup failed, serving here: ${String(error)}`);
        this.#place(head, body, sink, placement, key);
      },
    );
  }

  #place(
    head: RequestHead,
    body: Buffer | undefined,
    sink: PoolSink,
    placement: Placement,
    key: string | undefined | false,
  ): void {
    this.#requestsHandled++;
    switch (placement) {
      case 'pool':
        this.#pool!.dispatch(head, body, sink);
        return;
      case 'session':
        // `false`: the request belongs to no session; it runs where any other request would.
        if (key === false) this.#pool!.dispatch(head, body, sink);
        else this.#pool!.dispatchSession(key, head, body, sink);
        return;
      default: {
        // Inline, or a stream-bodied route's request without a body: on this thread.
        const request = new Request(head, body, sink, this.#requestConfig);
        // runHandler never rejects: handler errors become 500s.
        void runHandler(this.#handler!, request, this.#log);
      }
    }
  }

  /** A route's session key for a request (`false`: no session); a throwing `session` function counts as no key. */
  #sessionKeyOf(
    session: (request: Request) => string | undefined | false,
    pathParams: Record<string, string>,
    head: RequestHead,
    body: Buffer | undefined,
    sink: PoolSink,
  ): string | undefined | false {
    try {
      const request = new Request(head, body, sink, this.#requestConfig);
      request.pathParams = pathParams;
      const key = session(request);
      if (key === false) return false;
      return typeof key === 'string' && key.length > 0 ? key : undefined;
    } catch (error) {
      this.#log('error', `the session option of ${head.method} ${head.path} threw: ${String(error)}`);
      return undefined;
    }
  }

  /**
   * Runs a stream-bodied route on this (the IO) thread with the live body: Node's request is a
   * Readable that pauses the socket while the handler does not read, so nothing piles up.
   */
  #runStreamed(
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
}
