import type { ServerResponse } from 'node:http';
import type { ResponseSink } from '../http/request.js';
import type { PreparedResponse } from '../http/response.js';
import { SseConnection, sseHeaders, type StreamContext } from './sse-connection.js';
import { upgradeRequired } from './upgrade-sink.js';
import type { SessionKeys } from '../execution/session-keys.js';

/** What the sinks of one server share. */
export interface SinkContext {
  isClosing(): boolean;
  nextStreamId(): number;
  readonly streams: StreamContext;
  readonly sessions: SessionKeys;
}

/** Writes prepared responses to Node's ServerResponse, on the IO thread. */
export class NodeResponseSink implements ResponseSink {
  readonly #res: ServerResponse;
  readonly #context: SinkContext;
  /** The connection's unanswered responses; this one leaves it once written. */
  readonly #pending: Set<ServerResponse> | undefined;

  constructor(res: ServerResponse, context: SinkContext, pending?: Set<ServerResponse>) {
    this.#res = res;
    this.#context = context;
    this.#pending = pending;
  }

  send(response: PreparedResponse): void {
    const res = this.#res;
    this.#pending?.delete(res);
    if (res.headersSent || res.destroyed) return;
    // While the server drains, every response ends its connection.
    if (this.#context.isClosing()) response.headers.push('Connection', 'close');
    res.writeHead(response.status, response.headers);
    res.end(response.body);
  }

  bindSession(key: string): () => void {
    return this.#context.sessions.bind(key);
  }

  upgrade(): never {
    return upgradeRequired((response) => this.send(response));
  }

  openStream(headers: string[], id = this.#context.nextStreamId()): SseConnection {
    // A stream is answered once its head is out; while it runs the connection stays busy.
    this.#pending?.delete(this.#res);
    return new SseConnection(id, this.#res, 200, sseHeaders(headers), this.#context.streams);
  }
}
