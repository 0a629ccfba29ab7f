import type { RequestHead, ResponseSink, UpgradeOptions } from '../http/request.js';
import type { StreamChannel } from '../sse/sse-stream.js';
import type { WebSocketChannel } from '../websocket/websocket.js';
import type { EventDelivery } from '../websocket/websocket-connection.js';

/** A sink that can also open a stream or a WebSocket under a given id, with events sent elsewhere. */
export interface PoolSink extends ResponseSink {
  openStream(headers: string[], id?: number): StreamChannel;
  upgrade(options?: UpgradeOptions, id?: number, delivery?: EventDelivery): WebSocketChannel;
  /** True once the client has closed its connection: a queued request for it is dropped. */
  clientGone(): boolean;
}

/** A request given to the pool, from the moment it arrives until its handler has settled. */
export interface Job {
  id: number;
  head: RequestHead;
  body: Buffer | undefined;
  sink: PoolSink;
  responded: boolean;
  /** Its entry in the worker's mailbox, once posted there. */
  entry: number;
  /** When the pool was given it (`performance.now()`). */
  queuedAt: number;
  /** When a worker began it (as far as the IO thread can tell); 0 before. */
  startedAt: number;
  /** Session requests only: the handler-timeout timer. */
  timer?: NodeJS.Timeout | undefined;
}

export function newJob(id: number, head: RequestHead, body: Buffer | undefined, sink: PoolSink): Job {
  const now = performance.now();
  return { id, head, body, sink, responded: false, entry: -1, queuedAt: now, startedAt: 0 };
}
