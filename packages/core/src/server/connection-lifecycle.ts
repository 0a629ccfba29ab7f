/*
 * A server's connections from accept to close: the table entry a served
 * connection gets, the 503 a refused one gets, and the bounded close sequence
 * (backlog drain window, idle sweep, deadline) run by `Server.close()`.
 */
import type { Server as HttpServer, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { plainResponse } from '../http/response.js';
import type { LogLevel } from '../log/log-handler.js';
import { PendingResponses } from './pending-responses.js';
import type { ConnectionState } from './request-intake.js';
import { writeRawResponse } from './upgrade-sink.js';

/** Enters a connection the server will serve in `sockets`, until it closes. */
export function trackConnection(
  sockets: Map<Duplex, ConnectionState>,
  socket: Socket,
  maxPipelinedRequests: number,
): void {
  const state: ConnectionState = {
    pending: new PendingResponses(socket, maxPipelinedRequests),
    upgraded: false,
    remoteAddress: socket.remoteAddress ?? '',
    acceptedBytes: 0,
    stalledSince: 0,
    body: undefined,
  };
  sockets.set(socket, state);
  socket.once('close', () => {
    // Node never closes a response still queued behind another when the connection drops.
    state.pending.clear();
    sockets.delete(socket);
  });
}

/**
 * A connection the server will not serve — `maxConnections` are open, or it
 * is shutting down (`isClosing`): 503 with `Retry-After` and `Connection: close`
 * at once. What the client sends meanwhile is read and dropped (closing a socket
 * with unread bytes resets it, and the client could lose the 503) for up to 2 s.
 */
export function refuseConnection(socket: Socket, isClosing: boolean): void {
  socket.on('error', () => {});
  writeRawResponse(
    socket,
    plainResponse(
      503,
      isClosing ? 'Service Unavailable: server is shutting down' : 'Service Unavailable: too many open connections',
      ['Retry-After', '1'],
    ),
  );
  const timer = setTimeout(() => socket.destroy(), 2_000);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

/**
 * Closes `http` and every connection in `sockets`: after the backlog drain
 * window, idle connections close at once and the others as they finish; at
 * `remainingMs()` whatever is left is destroyed. Resolves once every socket
 * has closed.
 */
export async function closeConnections(
  http: HttpServer,
  sockets: Map<Duplex, ConnectionState>,
  closeTimeoutMs: number,
  remainingMs: () => number,
  log: (level: LogLevel, message: string) => void,
): Promise<void> {
  await drainBacklog(http, Math.min(1_000, closeTimeoutMs));
  const closed = new Promise<void>((resolve) => http.close(() => resolve()));
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      if (sockets.size > 0)
        log('info', `close: ${sockets.size} connection(s) still open at the deadline; closing them`);
      http.closeAllConnections();
      for (const socket of sockets.keys()) socket.destroy();
      resolve();
    }, remainingMs());
  });
  // Connections that owe no response close now — including ones that never sent a request,
  // which Node does not count as idle — and so do those that finish while draining.
  const closeIdle = (): void => {
    http.closeIdleConnections();
    for (const [socket, state] of sockets) {
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
    await Promise.all([...sockets.keys()].map((socket) => new Promise((resolve) => socket.once('close', resolve))));
  } finally {
    clearTimeout(timer);
    clearInterval(sweep);
  }
}

/**
 * The listener stays open a moment after close(): connections whose handshake completed before
 * it wait in the kernel's backlog, and closing the listener would reset them with the requests
 * they already sent. Each one accepted now gets 503 with `Retry-After` (see refuseConnection); the
 * connections open before keep being read, so a request that reached them is answered. The
 * window ends once no connection arrived for 100 ms, after `maxMs` at most.
 */
function drainBacklog(http: HttpServer, maxMs: number): Promise<void> {
  if (maxMs <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    let quiet: NodeJS.Timeout | undefined;
    const finish = (): void => {
      clearTimeout(quiet);
      clearTimeout(overall);
      http.off('connection', arm);
      resolve();
    };
    const arm = (): void => {
      clearTimeout(quiet);
      quiet = setTimeout(finish, Math.min(100, maxMs));
    };
    const overall = setTimeout(finish, maxMs);
    http.on('connection', arm);
    arm();
  });
}
