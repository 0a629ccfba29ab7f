import type { Request, SseStream } from '@mummyx/core';
import { isResponse } from '../json-rpc.js';
import type { JSONRPCMessage } from '../mcp-types.js';

/** Where a logical stream's events are written: an SSE response, or a JSON body being collected. */
export interface Outlet {
  write(message: JSONRPCMessage, eventId: string | undefined): void;
  /** The stream's requests are all answered. */
  finish(): void;
  readonly closed: boolean;
}

/** An SSE response: each message an `event: message`, with its stored event id when there is one. */
export class SseOutlet implements Outlet {
  readonly stream: SseStream;

  constructor(stream: SseStream) {
    this.stream = stream;
  }

  get closed(): boolean {
    return this.stream.closed;
  }

  write(message: JSONRPCMessage, eventId: string | undefined): void {
    this.stream.send(
      eventId === undefined
        ? { event: 'message', data: JSON.stringify(message) }
        : { event: 'message', id: eventId, data: JSON.stringify(message) },
    );
  }

  finish(): void {
    this.stream.close();
  }
}

/** An `application/json` response, sent once every request of the POST is answered. */
export class JsonOutlet implements Outlet {
  readonly #request: Request;
  readonly #batch: boolean;
  readonly #headers: Record<string, string>;
  readonly #messages: JSONRPCMessage[] = [];
  #closed = false;

  constructor(request: Request, batch: boolean, headers: Record<string, string>) {
    this.#request = request;
    this.#batch = batch;
    this.#headers = headers;
  }

  get closed(): boolean {
    return this.#closed;
  }

  write(message: JSONRPCMessage): void {
    // Only responses belong in a JSON body; notifications of the request are dropped (as the SDK does).
    if (isResponse(message)) this.#messages.push(message);
  }

  finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    const body = this.#batch || this.#messages.length !== 1 ? this.#messages : this.#messages[0];
    this.#request.respond(200, { 'Content-Type': 'application/json', ...this.#headers }, JSON.stringify(body));
  }
}
