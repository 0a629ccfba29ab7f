import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** What the watch keeps per connection (part of ConnectionState). */
export interface WatchedConnection {
  /** Bytes the socket had handed to the OS when it last made progress, and since when it has made none (0: nothing waits). */
  acceptedBytes: number;
  stalledSince: number;
  /** The request whose body is arriving on it, if any. */
  body: BodyProgress | undefined;
}

/** A request body being received, as the watch sees it. */
export interface BodyProgress {
  readonly req: IncomingMessage;
  /** `socket.bytesRead` at the last look. */
  readBytes: number;
  /** When a body byte last arrived, or the server last held bytes it had not read. */
  lastProgressAt: number;
  /** The current rate window: its start and the body bytes that arrived in it. */
  windowStart: number;
  windowBytes: number;
  /** Answers 408 (once). */
  timedOut(reason: string): void;
}

export interface WatchLimits {
  writeTimeoutMs: number;
  bodyTimeoutMs: number;
  minBodyBytesPerSecond: number;
}

/** Node's internals the watch reads: bytes handed to libuv, and what libuv still queues. */
interface SocketInternals {
  _bytesDispatched?: number;
  _handle?: { writeQueueSize?: number } | null;
}

/**
 * Bytes of `socket` the OS has taken: handed to libuv less what libuv still
 * queues. It grows while the peer reads, however slowly, even inside one big
 * write (a 16 MiB body is a single write whose callback comes only at the end).
 */
function acceptedBytes(socket: Socket): number {
  const internals = socket as Socket & SocketInternals;
  const dispatched = internals._bytesDispatched;
  const queued = internals._handle?.writeQueueSize;
  if (typeof dispatched === 'number' && typeof queued === 'number') return dispatched - queued;
  return socket.bytesWritten - socket.writableLength;
}

/**
 * The timeouts that need a clock over every open connection, on the IO
 * thread: a client that takes none of the bytes waiting for it for
 * `writeTimeoutMs` (it does not read) is destroyed — whoever wrote them: an
 * inline handler, a worker's response, a stream, a WebSocket; a request body
 * that is silent for `bodyTimeoutMs`, or slower than `minBodyBytesPerSecond`
 * over it, is answered 408. One timer looks at every connection a few times
 * per shortest timeout; the hot paths pay nothing.
 */
export class ConnectionWatch {
  readonly #connections: Map<Duplex, WatchedConnection>;
  readonly #limits: WatchLimits;
  readonly #onWriteTimeout: (socket: Socket) => void;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    connections: Map<Duplex, WatchedConnection>,
    limits: WatchLimits,
    onWriteTimeout: (socket: Socket) => void,
  ) {
    this.#connections = connections;
    this.#limits = limits;
    this.#onWriteTimeout = onWriteTimeout;
  }

  start(): void {
    const { writeTimeoutMs, bodyTimeoutMs } = this.#limits;
    const shortest = Math.min(writeTimeoutMs || Infinity, bodyTimeoutMs || Infinity);
    if (shortest === Infinity || this.#timer !== undefined) return;
    this.#timer = setInterval(this.#sweep, Math.min(1_000, Math.max(25, shortest / 4)));
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  readonly #sweep = (): void => {
    const now = performance.now();
    const { writeTimeoutMs, bodyTimeoutMs } = this.#limits;
    for (const [duplex, connection] of this.#connections) {
      const socket = duplex as Socket;
      if (writeTimeoutMs > 0) this.#checkWrites(socket, connection, now);
      if (bodyTimeoutMs > 0 && connection.body !== undefined) this.#checkBody(socket, connection.body, now);
    }
  };

  #checkWrites(socket: Socket, connection: WatchedConnection, now: number): void {
    const internals = socket as Socket & SocketInternals;
    const waiting = socket.writableLength > 0 || (internals._handle?.writeQueueSize ?? 0) > 0;
    if (!waiting || socket.destroyed) {
      connection.stalledSince = 0;
      return;
    }
    const accepted = acceptedBytes(socket);
    if (connection.stalledSince === 0 || accepted !== connection.acceptedBytes) {
      connection.acceptedBytes = accepted;
      connection.stalledSince = now;
      return;
    }
    if (now - connection.stalledSince >= this.#limits.writeTimeoutMs) {
      connection.stalledSince = 0;
      this.#onWriteTimeout(socket);
    }
  }

  #checkBody(socket: Socket, body: BodyProgress, now: number): void {
    const read = socket.bytesRead;
    const arrived = read - body.readBytes;
    body.readBytes = read;
    // Bytes the server has not read yet (a stream-bodied handler that is not reading, or the
    // connection paused for pipelined answers): the wait is the server's, not the client's.
    if (body.req.readableLength > 0 || socket.isPaused()) {
      body.lastProgressAt = now;
      body.windowStart = now;
      body.windowBytes = 0;
      return;
    }
    const { bodyTimeoutMs, minBodyBytesPerSecond } = this.#limits;
    if (arrived > 0) {
      body.lastProgressAt = now;
      body.windowBytes += arrived;
    } else if (now - body.lastProgressAt >= bodyTimeoutMs) {
      body.timedOut(`no request body byte arrived for ${bodyTimeoutMs} ms`);
      return;
    }
    const windowMs = now - body.windowStart;
    if (windowMs < bodyTimeoutMs) return;
    const rate = (body.windowBytes * 1_000) / windowMs;
    if (rate < minBodyBytesPerSecond) {
      body.timedOut(
        `the request body arrived at ${Math.round(rate)} bytes/s over ${Math.round(windowMs)} ms (minBodyBytesPerSecond ${minBodyBytesPerSecond})`,
      );
      return;
    }
    body.windowStart = now;
    body.windowBytes = 0;
  }
}

/** A body watch for a request that has just started receiving its body. */
export function bodyProgress(req: IncomingMessage, timedOut: (reason: string) => void): BodyProgress {
  const now = performance.now();
  return { req, readBytes: req.socket.bytesRead, lastProgressAt: now, windowStart: now, windowBytes: 0, timedOut };
}
