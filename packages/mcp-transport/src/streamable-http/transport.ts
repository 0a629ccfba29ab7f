import { InMemoryEventStore, type EventStore } from '../event-store.js';
import { isResponse } from '../json-rpc.js';
import type { JSONRPCMessage, RequestId, TransportSendOptions } from '../mcp-types.js';
import { SessionTransport } from '../session-transport.js';
import { LogicalStream } from './logical-stream.js';
import type { Outlet, SseOutlet } from './outlets.js';
import { requestStreamId, sessionStreamPrefix, standaloneStreamId } from './stream-ids.js';

export interface StreamableOptions {
  eventStore: EventStore | undefined;
  /** How long a dropped POST stream waits for its client to resume it before its requests are cancelled. */
  resumeGraceMs: number;
  retryIntervalMs: number;
  log: (message: string) => void;
}

/** Messages kept for a standalone stream that is not open yet. */
const maxBacklog = 100;

/**
 * Streamable HTTP (protocol 2025-03-26 and later): responses go to the POST
 * that carried their request, messages about a request follow it there, and
 * everything else goes to the standalone GET stream.
 */
export class StreamableTransport extends SessionTransport {
  readonly #options: StreamableOptions;
  /** The session id the stream ids are made of (kept when `sessionId` is cleared for stateless use). */
  readonly #streamsOf: string;
  readonly #streams = new Map<string, LogicalStream>();
  readonly #byRequest = new Map<RequestId, LogicalStream>();
  #nextStream = 0;
  readonly #standalone: LogicalStream;
  readonly #backlog: Array<[JSONRPCMessage, string | undefined]> = [];

  constructor(sessionId: string, options: StreamableOptions) {
    super(sessionId);
    this.#options = options;
    this.#streamsOf = sessionId;
    this.#standalone = new LogicalStream(standaloneStreamId(sessionId));
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
      if (store instanceof InMemoryEventStore) store.dropStreams(sessionStreamPrefix(sessionId));
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
    const stream = new LogicalStream(requestStreamId(this.#streamsOf, this.#nextStream++));
    for (const id of requests) {
      stream.pending.add(id);
      this.#byRequest.set(id, stream);
    }
    stream.attach(outlet, release);
    this.#streams.set(stream.id, stream);
    return { id: stream.id, closeConnection: () => stream.detach() };
  }

  /**
   * Opens (or replaces) the standalone GET stream's connection and returns
   * the stream's id; what waited for one goes out first.
   */
  openStandalone(outlet: Outlet, release: () => void): string {
    this.#standalone.attach(outlet, release);
    for (const [message, eventId] of this.#backlog.splice(0)) outlet.write(message, eventId);
    return this.#standalone.id;
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
