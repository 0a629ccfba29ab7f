import type { WebSocket } from '@mummyx/core';
import type { JSONRPCMessage } from '../mcp-types.js';
import { SessionTransport } from '../session-transport.js';

/** WebSocket: one JSON-RPC message per text frame. */
export class WebSocketTransport extends SessionTransport {
  readonly #socket: WebSocket;

  constructor(sessionId: string, socket: WebSocket) {
    super(sessionId);
    this.#socket = socket;
    this.onCleanup(() => socket.close(1000, 'session closed'));
  }

  /** The session is its socket: it ends when the socket closes. */
  get isHeldOpen(): boolean {
    return true;
  }

  send(message: JSONRPCMessage): Promise<void> {
    if (this.closed || !this.#socket.send(JSON.stringify(message))) {
      return Promise.reject(new Error('Not connected: the WebSocket is closed'));
    }
    return Promise.resolve();
  }
}
