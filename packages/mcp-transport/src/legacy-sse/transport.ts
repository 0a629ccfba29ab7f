import type { SseStream } from '@mummyx/core';
import type { JSONRPCMessage } from '../mcp-types.js';
import { SessionTransport } from '../session-transport.js';

/** Legacy HTTP+SSE: everything the server says goes down the one GET stream as `message` events. */
export class LegacySseTransport extends SessionTransport {
  readonly #stream: SseStream;

  constructor(sessionId: string, stream: SseStream) {
    super(sessionId);
    this.#stream = stream;
    this.onCleanup(() => stream.close());
  }

  /** The session is its GET stream: it ends when the stream does. */
  get isHeldOpen(): boolean {
    return true;
  }

  send(message: JSONRPCMessage): Promise<void> {
    if (this.closed || !this.#stream.send({ event: 'message', data: JSON.stringify(message) })) {
      return Promise.reject(new Error('Not connected: the SSE stream is closed'));
    }
    return Promise.resolve();
  }
}
