import type { ServerResponse } from 'node:http';
import type { ResponseSink } from '../http/request.js';
import type { PreparedResponse } from '../http/response.js';

/** Writes prepared responses to Node's ServerResponse, on the IO thread. */
export class NodeResponseSink implements ResponseSink {
  readonly #res: ServerResponse;
  readonly #isClosing: () => boolean;

  constructor(res: ServerResponse, isClosing: () => boolean) {
    this.#res = res;
    this.#isClosing = isClosing;
  }

  send(response: PreparedResponse): void {
    const res = this.#res;
    if (res.headersSent || res.destroyed) return;
    // While the server drains, every response ends its connection.
    if (this.#isClosing()) response.headers.push('Connection', 'close');
    res.writeHead(response.status, response.headers);
    res.end(response.body);
  }
}
