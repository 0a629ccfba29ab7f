import type { ServerResponse } from 'node:http';
import type { ResponseSink } from '../http/request.js';
import type { PreparedResponse } from '../http/response.js';
import { isEventStream, type StreamedBody } from '../http/response-stream.js';
import { SseConnection, sseHeaders, type StreamContext } from '../sse/sse-connection.js';
import { pipeResponseBody, type ResponseStreams } from './response-body-pipe.js';
import { upgradeRequired } from './upgrade-sink.js';
import { ioThread, type IoSessions } from '../threads/session-registry.js';

/** What the sinks of one server share. */
export interface SinkContext {
  isClosing(): boolean;
  nextStreamId(): number;
  readonly streams: StreamContext;
  readonly responseStreams: ResponseStreams;
  readonly sessions: IoSessions;
}

/** Writes prepared responses to Node's ServerResponse, on the IO thread. */
export class NodeResponseSink implements ResponseSink {
  readonly #res: ServerResponse;
  readonly #context: SinkContext;
  /** The connection's unanswered responses; this one leaves it once written. */
  readonly #pending: Set<ServerResponse> | undefined;
  /** Set for a streamed request body: a response sent before it arrived whole closes the connection. */
  closeIfBodyUnread = false;

  constructor(res: ServerResponse, context: SinkContext, pending?: Set<ServerResponse>) {
    this.#res = res;
    this.#context = context;
    this.#pending = pending;
  }

  send(response: PreparedResponse): void {
    const res = this.#res;
    this.#pending?.delete(res);
    if (res.headersSent || res.destroyed) return;
    this.#markClose(response.headers);
    res.writeHead(response.status, response.headers);
    res.end(response.body);
  }

  bindSession(key: string): () => void {
    return this.#context.sessions.hold(key, ioThread);
  }

  /** The client closed its connection before an answer. */
  clientGone(): boolean {
    // The request's socket, not the response's: a pipelined response gets its socket only when
    // the responses before it are written.
    return this.#res.destroyed || this.#res.req.socket.destroyed;
  }

  sendStream(status: number, headers: string[], body: StreamedBody | undefined): void {
    const res = this.#res;
    this.#pending?.delete(res);
    if (res.headersSent || res.destroyed) {
      body?.destroy();
      return;
    }
    this.#markClose(headers);
    res.writeHead(status, headers);
    if (body === undefined || res.req.method === 'HEAD' || status === 204 || status === 304) {
      body?.destroy();
      res.end();
      return;
    }
    // Node sends the head with the first chunk; an EventSource opens only once it has the head.
    if (isEventStream(contentTypeOf(headers))) res.flushHeaders();
    pipeResponseBody(
      body,
      res,
      res.req.socket,
      `${res.req.method} ${res.req.url}`,
      () => this.clientGone(),
      this.#context.responseStreams,
    );
  }

  watchClient(onGone: () => void): void {
    const res = this.#res;
    if (res.writableFinished) return;
    if (this.clientGone()) {
      onGone();
      return;
    }
    // The request's socket: a pipelined response is attached to it only once the ones before
    // it are written, and Node never closes a response still queued when the connection drops.
    const socket = res.req.socket;
    const onClose = (): void => {
      res.off('finish', onFinish);
      if (!res.writableFinished) onGone();
    };
    const onFinish = (): void => {
      socket.off('close', onClose);
    };
    socket.once('close', onClose);
    res.once('finish', onFinish);
  }

  /**
   * While the server drains, every response ends its connection; so does one sent before a
   * streamed request body arrived whole (reading the rest only to discard it could take long).
   */
  #markClose(headers: string[]): void {
    const unread = this.closeIfBodyUnread && !this.#res.req.complete;
    if (this.#context.isClosing() || unread) headers.push('Connection', 'close');
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

function contentTypeOf(headers: string[]): string | undefined {
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name.length === 12 && name.toLowerCase() === 'content-type') return headers[i + 1];
  }
  return undefined;
}
