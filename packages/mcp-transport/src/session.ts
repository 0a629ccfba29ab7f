import type { Request, SseStream, WebSocket } from '@mummyx/core';
import { InMemoryEventStore, type EventStore } from './event-store.js';
import { isResponse } from './json-rpc.js';
import type { JSONRPCMessage, RequestId, TransportSendOptions } from './sdk-v1.js';
import { SessionTransport } from './session-transport.js';

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

/** Where a logical stream's events are written: an SSE response, or a JSON body being collected. */
interface Outlet {
  write(message: JSONRPCMessage, eventId: string | undefined): void;
  /** The stream's requests are all answered. */
  finish(): void;
  readonly closed: boolean;
}

class SseOutlet implements Outlet {
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

class JsonOutlet implements Outlet {
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

/**
 * One stream of a Streamable HTTP session: a POST's response stream, or the
 * standalone GET stream. It outlives its connection when events are stored,
 * so a client can reconnect with `Last-Event-ID` and get the rest.
 */
class LogicalStream {
  readonly id: string;
  readonly pending = new Set<RequestId>();
  outlet: Outlet | undefined;
  /** Cancels the stream's requests when its client does not come back in time. */
  graceTimer: NodeJS.Timeout | undefined;
  /** Settles the handler that holds the stream's current connection. */
  #release: (() => void) | undefined;

  constructor(id: string) {
    this.id = id;
  }

  attach(outlet: Outlet, release: () => void): void {
    this.detach();
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    this.outlet = outlet;
    this.#release = release;
  }

  /** Ends the current connection (the logical stream may go on). */
  detach(): void {
    const outlet = this.outlet;
    const release = this.#release;
    this.outlet = undefined;
    this.#release = undefined;
    if (outlet !== undefined && !outlet.closed) outlet.finish();
    release?.();
  }

  /** The connection went away from the client's side. */
  lost(): void {
    const release = this.#release;
    this.outlet = undefined;
    this.#release = undefined;
    release?.();
  }
}

export interface StreamableOptions {
  eventStore: EventStore | undefined;
  /** How long a dropped POST stream waits for its client to resume it before its requests are cancelled. */
  resumeGraceMs: number;
  retryIntervalMs: number;
  log: (message: string) => void;
}

const standaloneSuffix = '.get';
/** Messages kept for a standalone stream that is not open yet. */
const maxBacklog = 100;

/**
 * Streamable HTTP (protocol 2025-03-26 and later): responses go to the POST
 * that carried their request, messages about a request follow it there, and
 * everything else goes to the standalone GET stream.
 */
export class StreamableTransport extends SessionTransport {
  readonly #options: StreamableOptions;
  readonly #streams = new Map<string, LogicalStream>();
  readonly #byRequest = new Map<RequestId, LogicalStream>();
  #nextStream = 0;
  readonly #standalone: LogicalStream;
  readonly #backlog: Array<[JSONRPCMessage, string | undefined]> = [];

  constructor(sessionId: string, options: StreamableOptions) {
    super(sessionId);
    this.#options = options;
    this.#standalone = new LogicalStream(`${sessionId}${standaloneSuffix}`);
    this.#streams.set(this.#standalone.id, this.#standalone);
    this.onCleanup(() => {
      for (const stream of this.#streams.values()) {
        clearTimeout(stream.graceTimer);
        stream.detach();
      }
      this.#streams.clear();
      this.#byRequest.clear();
      // Nobody can resume a closed session's streams.
      const store = options.eventStore;
      if (store instanceof InMemoryEventStore) store.dropStreams(`${sessionId}.`);
    });
  }

  get eventStore(): EventStore | undefined {
    return this.#options.eventStore;
  }

  /** While the standalone stream or a POST stream is connected. */
  get isHeldOpen(): boolean {
    for (const stream of this.#streams.values()) if (stream.outlet !== undefined) return true;
    return false;
  }

  /**
   * Starts a POST's response stream for `requests`; `release` settles the
   * POST's handler once every request is answered or the client goes away.
   */
  openRequestStream(
    requests: RequestId[],
    outlet: Outlet,
    release: () => void,
  ): { id: string; closeConnection: () => void } {
    const stream = new LogicalStream(`${this.sessionId}.${this.#nextStream++}`);
    for (const id of requests) {
      stream.pending.add(id);
      this.#byRequest.set(id, stream);
    }
    stream.attach(outlet, release);
    this.#streams.set(stream.id, stream);
    return { id: stream.id, closeConnection: () => stream.detach() };
  }

  /** Opens (or replaces) the standalone GET stream's connection; what waited for one goes out first. */
  openStandalone(outlet: Outlet, release: () => void): void {
    this.#standalone.attach(outlet, release);
    for (const [message, eventId] of this.#backlog.splice(0)) outlet.write(message, eventId);
  }

  /**
   * Keeps a message for the standalone stream while no GET is open (a client
   * opens it only after initialising), up to `maxBacklog`; the oldest go first.
   */
  #hold(message: JSONRPCMessage, eventId: string | undefined): void {
    this.#backlog.push([message, eventId]);
    if (this.#backlog.length > maxBacklog) {
      this.#backlog.shift();
      this.#options.log(
        `session ${this.sessionId}: more than ${maxBacklog} messages wait for a GET stream; dropped the oldest`,
      );
    }
  }

  closeStandaloneConnection(): void {
    this.#standalone.detach();
  }

  /**
   * The client dropped a connection. The standalone stream just waits for the
   * next GET. A POST stream with unanswered requests waits `resumeGraceMs` for
   * a resumption (when events are stored), then its requests are cancelled, so
   * tools see `extra.signal` abort.
   */
  connectionLost(streamId: string, outlet: Outlet): void {
    const stream = this.#streams.get(streamId);
    if (stream === undefined || stream.outlet !== outlet) return;
    stream.lost();
    if (stream === this.#standalone || stream.pending.size === 0) return;
    if (this.#options.eventStore === undefined) {
      this.#abandon(stream);
      return;
    }
    stream.graceTimer = setTimeout(() => {
      if (stream.outlet === undefined) this.#abandon(stream);
    }, this.#options.resumeGraceMs);
    stream.graceTimer.unref();
  }

  /** Nobody will read this stream again: its requests are cancelled. */
  #abandon(stream: LogicalStream): void {
    this.#streams.delete(stream.id);
    for (const id of stream.pending) {
      this.#byRequest.delete(id);
      this.receive({
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId: id, reason: 'the client closed the response stream' },
      });
    }
  }

  /**
   * Reattaches a connection to the stream `streamId` after a replay. Returns
   * false when that stream has nothing more to send (the caller closes the
   * connection).
   */
  resume(streamId: string, outlet: Outlet, release: () => void): boolean {
    const stream = this.#streams.get(streamId);
    if (stream === undefined) return false;
    if (stream !== this.#standalone && stream.pending.size === 0) return false;
    // The replay already carried what waited for the standalone stream.
    if (stream === this.#standalone) this.#backlog.length = 0;
    stream.attach(outlet, release);
    return true;
  }

  /** The priming event of a stream: an id to resume from, and the reconnection delay. */
  async prime(streamId: string, outlet: SseOutlet): Promise<void> {
    const store = this.#options.eventStore;
    if (store === undefined) return;
    const id = await store.storeEvent(streamId, {} as JSONRPCMessage);
    outlet.stream.send({ id, retry: this.#options.retryIntervalMs, data: '' });
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (this.closed) throw new Error('Not connected: the session is closed');
    let related = options?.relatedRequestId;
    const response = isResponse(message);
    if (response) related = message.id;
    const stream = related === undefined ? this.#standalone : this.#byRequest.get(related);
    if (stream === undefined) {
      // The request's stream is gone (cancelled on disconnect, or the session ended): nobody can receive this.
      this.#options.log(`no stream for request ${String(related)} of session ${this.sessionId}; message dropped`);
      return;
    }
    if (response && stream === this.#standalone) {
      throw new Error('a response must carry the id of a request of this session');
    }
    const store = this.#options.eventStore;
    const eventId = store === undefined ? undefined : await store.storeEvent(stream.id, message);
    const outlet = stream.outlet;
    if (outlet !== undefined && !outlet.closed) outlet.write(message, eventId);
    else if (stream === this.#standalone) this.#hold(message, eventId);
    if (response) {
      stream.pending.delete(related!);
      this.#byRequest.delete(related!);
      if (stream.pending.size === 0) {
        stream.detach();
        this.#streams.delete(stream.id);
      }
    }
  }

  /** Whether a request id is still being answered (a duplicate id would mix two answers). */
  isPending(id: RequestId): boolean {
    return this.#byRequest.has(id);
  }
}

export { SseOutlet, JsonOutlet, type Outlet };
