import { RelayedChannel, type ChannelPort } from '../channel/relayed-channel.js';
import type { MessageKind, WebSocketChannel } from './websocket.js';

/** How a worker's WebSockets reach their sockets on the IO thread. */
export interface WebSocketPort extends ChannelPort {
  send(id: number, data: string | Uint8Array, kind: MessageKind): void;
  close(id: number, code: number | undefined, reason: string | undefined): void;
}

/**
 * A WebSocket upgraded on a worker thread: its socket lives on the IO thread,
 * its events run on this worker. Closed from the moment the worker asks to
 * close it: the close event follows from the IO thread.
 */
export class WorkerWebSocketChannel extends RelayedChannel<WebSocketPort> implements WebSocketChannel {
  #closing = false;

  get closed(): boolean {
    return this.#closing || this.hasEnded;
  }

  send(data: string | Uint8Array, kind: MessageKind): boolean {
    if (this.closed) return false;
    this.port.send(this.id, data, kind);
    return true;
  }

  close(code?: number, reason?: string): void {
    if (this.closed) return;
    this.#closing = true;
    this.port.close(this.id, code, reason);
  }
}
