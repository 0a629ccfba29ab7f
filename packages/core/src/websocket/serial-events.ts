import type { WebSocket, WebSocketEvent, WebSocketHandler, WebSocketMessage } from './websocket.js';

/**
 * Runs a handler's events for one connection one at a time, in order. Errors
 * thrown by the handler are reported and do not stop later events.
 */
export class SerialEvents {
  readonly #handler: WebSocketHandler;
  readonly #websocket: WebSocket;
  readonly #onError: (error: unknown) => void;
  readonly #queue: Array<[WebSocketEvent, WebSocketMessage]> = [];
  #running = false;

  readonly #around: { enter(): void; leave(): void } | undefined;

  /** `around` brackets each synchronous handler call (a worker flags itself busy meanwhile). */
  constructor(
    handler: WebSocketHandler,
    websocket: WebSocket,
    onError: (error: unknown) => void,
    around?: { enter(): void; leave(): void },
  ) {
    this.#handler = handler;
    this.#websocket = websocket;
    this.#onError = onError;
    this.#around = around;
  }

  push(event: WebSocketEvent, message: WebSocketMessage): void {
    this.#queue.push([event, message]);
    if (!this.#running) this.#drain();
  }

  #drain(): void {
    this.#running = true;
    while (this.#queue.length > 0) {
      const [event, message] = this.#queue.shift()!;
      let result: void | Promise<void>;
      this.#around?.enter();
      try {
        result = this.#handler(this.#websocket, event, message);
      } catch (error) {
        this.#onError(error);
        continue;
      } finally {
        this.#around?.leave();
      }
      if (result !== undefined && typeof result.then === 'function') {
        void result.then(
          () => this.#drain(),
          (error: unknown) => {
            this.#onError(error);
            this.#drain();
          },
        );
        return;
      }
    }
    this.#running = false;
  }
}
