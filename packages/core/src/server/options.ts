import { readFileSync } from 'node:fs';
import type { ResourceLimits } from 'node:worker_threads';
import { MxError } from '../errors.js';
import { defaultCompression, type CompressionOptions, type ResolvedCompression } from '../http/compression.js';
import { stderrLogHandler, type LogHandler, type LogLevel } from '../log/log-handler.js';
import type { IncomingMessage } from 'node:http';
import type { WebSocketHandler } from '../websocket/websocket.js';

export interface WebSocketOptions {
  /** Largest message (all fragments together); over it the connection closes with 1009. Default 65 536. */
  maxMessageBytes?: number;
  /**
   * Most fragments in one message; over it the connection closes with 1008.
   * Default: one per 256 bytes of `maxMessageBytes`, from 1 024 to 16 384
   * (`ws`'s own default, reached at 4 MiB messages) — 1 024 for the default
   * 64 KiB messages. Each fragment costs memory beyond its bytes until the
   * message is whole.
   */
  maxFragments?: number;
  /**
   * Bytes queued for one peer that its socket has not taken yet (a client
   * that stops reading); a send or published message beyond it closes the
   * connection with 1008 — the handler gets `error` (closeCode 1008), then
   * `close`. Default 4 194 304 (4 MiB).
   */
  maxBufferedBytes?: number;
  /** permessage-deflate compression. Default false. */
  perMessageDeflate?: boolean;
  /** A ping this often; a peer that has not answered the previous one is terminated. 0 disables. Default 30 000. */
  heartbeatIntervalMs?: number;
  /**
   * How long a closing handshake waits for the peer's close frame; and how
   * long a close the peer started waits for the handler's replies to the
   * messages before it (a threaded handler's replies go out before the
   * server's close frame). Default 10 000.
   */
  closeTimeoutMs?: number;
  /**
   * Origins allowed to open a WebSocket (exact `scheme://host[:port]`). Browsers
   * send Origin and do not apply CORS to WebSockets, so set this (or
   * `verifyOrigin`) for browser-facing servers. Default: any origin.
   */
  allowedOrigins?: string[];
  /** Custom Origin check, run before the 101; false answers 403. */
  verifyOrigin?: (origin: string | undefined, request: IncomingMessage) => boolean;
  /** Picks a subprotocol from the client's `Sec-WebSocket-Protocol` list; false picks none. */
  handleProtocols?: (protocols: Set<string>, request: IncomingMessage) => string | false;
}

/** Elastic pool: grows while every worker is busy and work waits, shrinks after idling. */
export interface ElasticThreads {
  min: number;
  max: number;
  /** A worker above `min` idle this long exits. Default 30 000. */
  idleTimeoutMs?: number;
}

export interface ServerOptions {
  /**
   * The application module for threaded mode: a URL or path of an ES module
   * exporting `router` (a Router) or `handler` (a function), or a default
   * export of either. Every worker imports it, and so does the IO thread (for
   * routes pinned `inline`). Required when `threads` is not 0.
   */
  app?: URL | string;
  /** 0 (default): handlers run on the IO thread. N: a fixed pool of N workers. `{min, max}`: elastic. */
  threads?: number | ElasticThreads;
  /**
   * Threaded mode: requests that wait for a free worker beyond this many get
   * 503 with `Retry-After: 1` instead of growing memory. Default 1 024.
   */
  maxQueuedRequests?: number;
  /**
   * Threaded mode: a handler that has not settled after this long gets a 503
   * (if it had not responded) and its worker is terminated and replaced — the
   * cure for an endless loop. 0 disables. Default 60 000.
   */
  handlerTimeoutMs?: number;
  /**
   * Threaded mode, Linux: the nice value of worker threads (0–19; the IO
   * thread keeps the process's own). Above 0, the thread that owns the
   * sockets is scheduled ahead of busy handlers, so it keeps reading requests
   * and writing responses while every worker runs; handlers still get all the
   * CPU nobody else wants. 0 gives workers the IO thread's priority. Ignored
   * on other systems. Default 10.
   */
  workerNice?: number;
  /**
   * Threaded mode: V8 resource limits of each worker thread (Node's
   * `resourceLimits`: `maxOldGenerationSizeMb`, `maxYoungGenerationSizeMb`,
   * `codeRangeSizeMb`, `stackSizeMb`). A worker over its heap limit ends; its
   * request gets 500, its WebSockets close with 1011, and a new worker takes
   * its place. Default: none (a worker may grow like the process).
   */
  workerResourceLimits?: ResourceLimits;
  /**
   * Threaded mode: V8 optimizes hot code this many times sooner than by
   * default. Each worker runs only its share of the requests, so with V8's
   * defaults the code on a worker's path would stay unoptimized N times
   * longer in a pool of N workers (under load spread over 100 workers, still
   * after 15 s, at about 1.5 times the CPU per request). The thresholds are V8
   * flags, which belong to the process: this divides them for every thread,
   * once, when the pool starts (`--interrupt-budget` on Node 20;
   * `--invocation-count-for-turbofan` and `--invocation-count-for-maglev`
   * from Node 22). A threshold given on node's command line is kept. 1
   * leaves V8's flags alone. Integer from 1 to 1 000; default 8.
   */
  tierUpFactor?: number;
  /** Request line plus header fields; over it → 431. Default 16 384. */
  maxHeaderBytes?: number;
  /** Request target length; over it → 414. Default 8 192. */
  maxUriBytes?: number;
  /** Buffered request body; over it → 413 and the handler never runs. Default 1 048 576 (1 MiB). */
  maxBodyBytes?: number;
  /** Time for the request head to arrive; over it → 408. Default 20 000. */
  headersTimeoutMs?: number;
  /** Time for the whole request (head and body) to arrive; over it → 408. 0 disables. Default 300 000. */
  requestTimeoutMs?: number;
  /**
   * A request body that delivers no byte for this long, or less than
   * `minBodyBytesPerSecond` over this long, gets 408 and its connection
   * closes. Time the server itself does not read (a stream-bodied handler
   * that is not reading) does not count. 0 disables. Default 30 000.
   */
  bodyTimeoutMs?: number;
  /** See `bodyTimeoutMs`; 0 checks only for silence. Default 1 024. */
  minBodyBytesPerSecond?: number;
  /**
   * A connection whose socket takes none of the response bytes waiting for it
   * for this long (a client that does not read) is destroyed, and counted in
   * `stats().writeTimeouts`. Applies to every response, SSE stream and
   * WebSocket, inline and from workers. 0 disables. Default 30 000.
   */
  writeTimeoutMs?: number;
  /**
   * Open connections; a connection beyond it gets 503 with `Retry-After: 1`
   * and `Connection: close` at once, and is counted in
   * `stats().connectionsRefused`. Default: 10 000, or fewer where the
   * process may open fewer files (Linux: the soft `RLIMIT_NOFILE` less 256),
   * so refusals start before file descriptors run out.
   */
  maxConnections?: number;
  /**
   * Requests one connection may have in flight (received, not yet answered,
   * pipelined behind each other). At the limit the server stops reading that
   * connection until answers go out, so one pipelining client gets a fair
   * share of the workers instead of all of them. Default 16.
   */
  maxPipelinedRequests?: number;
  /** Idle time before a keep-alive connection is closed. Default 5 000. */
  keepAliveTimeoutMs?: number;
  /**
   * How long `close()` lets in-flight requests finish before closing their
   * sockets; the whole close, worker threads included, ends within it. See
   * docs/limits.md for what a shutdown promises. Default 10 000.
   */
  closeTimeoutMs?: number;
  /** Response compression (gzip, br, deflate). `false` turns it off. Default on, 860-byte threshold. */
  compression?: boolean | CompressionOptions;
  /**
   * Receives WebSocket events (inline mode). In threaded mode, export
   * `websocketHandler` from the app module instead.
   */
  websocketHandler?: WebSocketHandler;
  websocket?: WebSocketOptions;
  /** Server-sent events. */
  sse?: {
    /** A `: keepalive` comment this often on every stream; 0 disables. Default 15 000. */
    heartbeatIntervalMs?: number;
    /** Bytes a slow client may fall behind before its stream is closed. Default 1 048 576. */
    maxBufferedBytes?: number;
  };
  /** Receives log lines at `logLevel` and above. Default: stderr. */
  logHandler?: LogHandler;
  /** Lowest level logged. Default `error`, so a healthy server prints nothing. */
  logLevel?: LogLevel;
}

export interface ResolvedThreads {
  min: number;
  max: number;
  idleTimeoutMs: number;
}

export interface ResolvedOptions {
  threads: ResolvedThreads | undefined;
  maxQueuedRequests: number;
  handlerTimeoutMs: number;
  workerNice: number;
  workerResourceLimits: ResourceLimits | undefined;
  tierUpFactor: number;
  maxHeaderBytes: number;
  maxUriBytes: number;
  maxBodyBytes: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  bodyTimeoutMs: number;
  minBodyBytesPerSecond: number;
  writeTimeoutMs: number;
  maxConnections: number;
  maxPipelinedRequests: number;
  keepAliveTimeoutMs: number;
  closeTimeoutMs: number;
  compression: ResolvedCompression | undefined;
  sseHeartbeatIntervalMs: number;
  sseMaxBufferedBytes: number;
  websocket: {
    maxMessageBytes: number;
    maxFragments: number;
    maxBufferedBytes: number;
    perMessageDeflate: boolean;
    heartbeatIntervalMs: number;
    closeTimeoutMs: number;
    verifyOrigin: (origin: string | undefined, request: IncomingMessage) => boolean;
    handleProtocols: WebSocketOptions['handleProtocols'];
  };
  logHandler: LogHandler;
  logLevel: LogLevel;
}

function positiveInteger(name: string, value: number | undefined, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0 || (value === 0 && !allowZero)) {
    throw new MxError(
      'MX_ERR_OPTION_INVALID',
      `${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${String(value)}`,
    );
  }
  return value;
}

function niceValue(value: number): number {
  if (!Number.isSafeInteger(value) || value < 0 || value > 19) {
    throw new MxError('MX_ERR_OPTION_INVALID', `workerNice must be an integer from 0 to 19, got ${String(value)}`);
  }
  return value;
}

function tierUpFactor(value: number): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > 1_000) {
    throw new MxError('MX_ERR_OPTION_INVALID', `tierUpFactor must be an integer from 1 to 1000, got ${String(value)}`);
  }
  return value;
}

export function resolveOptions(options: ServerOptions): ResolvedOptions {
  let compression: ResolvedCompression | undefined = defaultCompression;
  if (options.compression === false) compression = undefined;
  else if (typeof options.compression === 'object') {
    compression = {
      thresholdBytes: positiveInteger(
        'compression.thresholdBytes',
        options.compression.thresholdBytes,
        defaultCompression.thresholdBytes,
        true,
      ),
      encodings: validEncodings(options.compression.encodings),
    };
  }
  const logLevel = options.logLevel ?? 'error';
  if (!['debug', 'info', 'error'].includes(logLevel)) {
    throw new MxError('MX_ERR_OPTION_INVALID', `logLevel must be debug, info or error, got ${String(logLevel)}`);
  }
  const requestTimeoutMs = positiveInteger('requestTimeoutMs', options.requestTimeoutMs, 300_000, true);
  // Node requires the head to be due no later than the whole request.
  const headersDefault = requestTimeoutMs === 0 ? 20_000 : Math.min(20_000, requestTimeoutMs);
  const headersTimeoutMs = positiveInteger('headersTimeoutMs', options.headersTimeoutMs, headersDefault);
  if (requestTimeoutMs !== 0 && headersTimeoutMs > requestTimeoutMs) {
    throw new MxError(
      'MX_ERR_OPTION_INVALID',
      `headersTimeoutMs (${headersTimeoutMs}) must not exceed requestTimeoutMs (${requestTimeoutMs})`,
    );
  }
  return {
    threads: resolveThreads(options.threads),
    maxQueuedRequests: positiveInteger('maxQueuedRequests', options.maxQueuedRequests, 1_024, true),
    handlerTimeoutMs: positiveInteger('handlerTimeoutMs', options.handlerTimeoutMs, 60_000, true),
    workerNice: niceValue(options.workerNice ?? 10),
    workerResourceLimits: resourceLimits(options.workerResourceLimits),
    tierUpFactor: tierUpFactor(options.tierUpFactor ?? 8),
    maxHeaderBytes: positiveInteger('maxHeaderBytes', options.maxHeaderBytes, 16_384),
    maxUriBytes: positiveInteger('maxUriBytes', options.maxUriBytes, 8_192),
    maxBodyBytes: positiveInteger('maxBodyBytes', options.maxBodyBytes, 1_048_576, true),
    headersTimeoutMs,
    requestTimeoutMs,
    bodyTimeoutMs: positiveInteger('bodyTimeoutMs', options.bodyTimeoutMs, 30_000, true),
    minBodyBytesPerSecond: positiveInteger('minBodyBytesPerSecond', options.minBodyBytesPerSecond, 1_024, true),
    writeTimeoutMs: positiveInteger('writeTimeoutMs', options.writeTimeoutMs, 30_000, true),
    maxConnections: positiveInteger('maxConnections', options.maxConnections, defaultMaxConnections()),
    maxPipelinedRequests: positiveInteger('maxPipelinedRequests', options.maxPipelinedRequests, 16),
    keepAliveTimeoutMs: positiveInteger('keepAliveTimeoutMs', options.keepAliveTimeoutMs, 5_000),
    closeTimeoutMs: positiveInteger('closeTimeoutMs', options.closeTimeoutMs, 10_000, true),
    compression,
    sseHeartbeatIntervalMs: positiveInteger('sse.heartbeatIntervalMs', options.sse?.heartbeatIntervalMs, 15_000, true),
    sseMaxBufferedBytes: positiveInteger('sse.maxBufferedBytes', options.sse?.maxBufferedBytes, 1_048_576),
    websocket: resolveWebSocket(options.websocket ?? {}),
    logHandler: options.logHandler ?? stderrLogHandler('debug'),
    logLevel,
  };
}

/**
 * 10 000, or the soft limit on open files less 256 (for the listener, worker
 * threads, log and upload files) where Linux tells it and it is lower.
 */
function defaultMaxConnections(): number {
  let limit = 10_000;
  try {
    const line = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (line !== null) limit = Math.min(limit, Math.max(64, Number(line[1]) - 256));
  } catch {
    // Not Linux, or /proc is not mounted: keep the fixed default.
  }
  return limit;
}

const resourceLimitNames = ['maxOldGenerationSizeMb', 'maxYoungGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb'];

function resourceLimits(limits: ResourceLimits | undefined): ResourceLimits | undefined {
  if (limits === undefined) return undefined;
  if (typeof limits !== 'object' || limits === null) {
    throw new MxError('MX_ERR_OPTION_INVALID', 'workerResourceLimits must be an object');
  }
  for (const [name, value] of Object.entries(limits)) {
    if (!resourceLimitNames.includes(name)) {
      throw new MxError(
        'MX_ERR_OPTION_INVALID',
        `workerResourceLimits.${name} is not one of ${resourceLimitNames.join(', ')}`,
      );
    }
    if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
      throw new MxError('MX_ERR_OPTION_INVALID', `workerResourceLimits.${name} must be a positive number of MB`);
    }
  }
  return { ...limits };
}

function resolveThreads(threads: ServerOptions['threads']): ResolvedThreads | undefined {
  if (threads === undefined || threads === 0) return undefined;
  if (typeof threads === 'number') {
    const n = positiveInteger('threads', threads, 0);
    return { min: n, max: n, idleTimeoutMs: 30_000 };
  }
  if (typeof threads !== 'object' || threads === null) {
    throw new MxError('MX_ERR_OPTION_INVALID', 'threads must be a number or { min, max, idleTimeoutMs }');
  }
  const min = positiveInteger('threads.min', threads.min, 0, true);
  const max = positiveInteger('threads.max', threads.max, 0);
  if (min > max) throw new MxError('MX_ERR_OPTION_INVALID', `threads.min (${min}) exceeds threads.max (${max})`);
  return { min, max, idleTimeoutMs: positiveInteger('threads.idleTimeoutMs', threads.idleTimeoutMs, 30_000) };
}

function resolveWebSocket(ws: WebSocketOptions): ResolvedOptions['websocket'] {
  const allowed = ws.allowedOrigins === undefined ? undefined : new Set(ws.allowedOrigins);
  const custom = ws.verifyOrigin;
  const maxMessageBytes = positiveInteger('websocket.maxMessageBytes', ws.maxMessageBytes, 65_536);
  // Each fragment is a Buffer of its own until the message is whole: many tiny ones cost far more
  // memory than their bytes. One per 256 bytes of the largest message is what Autobahn's 9.3/9.4
  // cases need (4 MiB in 256-byte fragments is 16 384, ws's own default).
  const fragmentsDefault = Math.min(16_384, Math.max(1_024, Math.ceil(maxMessageBytes / 256)));
  return {
    maxMessageBytes,
    maxFragments: positiveInteger('websocket.maxFragments', ws.maxFragments, fragmentsDefault),
    maxBufferedBytes: positiveInteger('websocket.maxBufferedBytes', ws.maxBufferedBytes, 4_194_304),
    perMessageDeflate: ws.perMessageDeflate ?? false,
    heartbeatIntervalMs: positiveInteger('websocket.heartbeatIntervalMs', ws.heartbeatIntervalMs, 30_000, true),
    closeTimeoutMs: positiveInteger('websocket.closeTimeoutMs', ws.closeTimeoutMs, 10_000),
    verifyOrigin: (origin, request) => {
      if (allowed !== undefined && (origin === undefined || !allowed.has(origin))) return false;
      return custom === undefined || custom(origin, request);
    },
    handleProtocols: ws.handleProtocols,
  };
}

function validEncodings(encodings: CompressionOptions['encodings']): ResolvedCompression['encodings'] {
  if (encodings === undefined) return defaultCompression.encodings;
  if (!Array.isArray(encodings)) throw new MxError('MX_ERR_OPTION_INVALID', 'compression.encodings must be an array');
  for (const encoding of encodings) {
    if (encoding !== 'gzip' && encoding !== 'br' && encoding !== 'deflate') {
      throw new MxError(
        'MX_ERR_OPTION_INVALID',
        `compression.encodings: ${JSON.stringify(encoding)} is not one of gzip, br, deflate`,
      );
    }
  }
  return [...encodings];
}

/**
 * Reads a thread setting as written in an environment variable or a CLI flag:
 * `0` (inline), `N` (fixed pool) or `MIN-MAX` (elastic pool). Throws
 * `MX_ERR_OPTION_INVALID` for anything else.
 */
export function parseThreads(text: string): number | ElasticThreads {
  const trimmed = text.trim();
  const range = /^(\d+)-(\d+)$/.exec(trimmed);
  if (range !== null) return { min: Number(range[1]), max: Number(range[2]) };
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  throw new MxError('MX_ERR_OPTION_INVALID', `threads must be N or MIN-MAX, got ${JSON.stringify(text)}`);
}
