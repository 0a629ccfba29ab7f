/*
 * What `Server.stats()` reports, and the figures it counts from the
 * connection table.
 */
import type { Duplex } from 'node:stream';
import type { BrokerStats } from '../pubsub/topic-broker.js';
import type { PoolStats } from '../threads/pool-stats.js';
import type { ConnectionState } from './request-intake.js';
import type { SessionDirectoryStats } from './session-directory.js';

export interface ServerStats {
  /** Requests whose handler has been started. */
  requestsHandled: number;
  /** Requests received and not yet answered. */
  requestsInFlight: number;
  /** Open client connections. */
  connections: number;
  /** Open server-sent event streams. */
  streams: number;
  /** Responses being streamed (`respondStream()`, `serveFile()`), inline and from workers. */
  streamedResponses: number;
  /** Open WebSocket connections. */
  websockets: number;
  /** Session keys bound with `request.bindSession()` and not yet released (on every thread). */
  sessions: number;
  /** Connections answered 503 at once because `maxConnections` were open. */
  connectionsRefused: number;
  /** Connections destroyed because the client took no response bytes for `writeTimeoutMs`. */
  writeTimeouts: number;
  /** Requests answered 408 because their body was silent or slower than `minBodyBytesPerSecond` for `bodyTimeoutMs`. */
  bodyTimeouts: number;
  /** WebSockets and event streams closed because their client fell `maxBufferedBytes` behind. */
  bufferOverflows: number;
  /** Worker pool figures; undefined when handlers run inline. */
  pool: PoolStats | undefined;
  /** The attached topic broker's figures (`attachBroker`); undefined without one. */
  broker: BrokerStats | undefined;
  /** The attached session directory's figures (`attachSessionDirectory`); undefined without one. */
  sessionDirectory: SessionDirectoryStats | undefined;
}

/** Requests received on open connections and not yet answered. */
export function countRequestsInFlight(sockets: ReadonlyMap<Duplex, ConnectionState>): number {
  let count = 0;
  for (const state of sockets.values()) count += state.pending.size;
  return count;
}
