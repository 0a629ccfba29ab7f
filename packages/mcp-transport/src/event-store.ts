import type { JSONRPCMessage } from './mcp-types.js';

/**
 * Where a session's server-to-client events are kept for resumption
 * (`Last-Event-ID`). The shape is the MCP SDK's `EventStore`, so a store
 * written for the SDK (Redis, a database) plugs in unchanged. Event ids must
 * be unique per session and identify their stream.
 */
export interface EventStore {
  /** Stores one event of a stream and returns its id. */
  storeEvent(streamId: string, message: JSONRPCMessage): Promise<string>;
  /** The stream an event id belongs to, or undefined when unknown. */
  getStreamIdForEventId?(eventId: string): Promise<string | undefined>;
  /**
   * Sends every event of `lastEventId`'s stream stored after it, in order, and
   * returns that stream's id. Rejects (or returns '') when the id is unknown.
   */
  replayEventsAfter(
    lastEventId: string,
    options: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> },
  ): Promise<string>;
}

export interface InMemoryEventStoreOptions {
  /** Events kept per stream; the oldest go first. Default 1 000. */
  maxEventsPerStream?: number;
  /** Streams kept in all; the least recently written go first. Default 10 000. */
  maxStreams?: number;
}

interface StoredStream {
  /** Sequence number of `events[0]`. */
  first: number;
  events: JSONRPCMessage[];
}

/**
 * A bounded in-memory `EventStore` (the default). It lives in the thread that
 * owns the sessions, so in threaded mode each worker has its own, which is
 * right: a session's events never leave its worker. Event ids are
 * `<streamId>#<sequence>`.
 */
export class InMemoryEventStore implements EventStore {
  readonly #maxEvents: number;
  readonly #maxStreams: number;
  /** Insertion order doubles as recency: a write moves its stream to the end. */
  readonly #streams = new Map<string, StoredStream>();

  constructor(options: InMemoryEventStoreOptions = {}) {
    this.#maxEvents = options.maxEventsPerStream ?? 1_000;
    this.#maxStreams = options.maxStreams ?? 10_000;
    if (!(this.#maxEvents >= 1) || !(this.#maxStreams >= 1)) {
      throw new RangeError('InMemoryEventStore: maxEventsPerStream and maxStreams must be at least 1');
    }
  }

  storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    let stream = this.#streams.get(streamId);
    if (stream === undefined) {
      stream = { first: 0, events: [] };
      if (this.#streams.size >= this.#maxStreams) this.#streams.delete(this.#streams.keys().next().value!);
    } else {
      this.#streams.delete(streamId);
    }
    this.#streams.set(streamId, stream);
    stream.events.push(message);
    if (stream.events.length > this.#maxEvents) {
      stream.events.shift();
      stream.first++;
    }
    return Promise.resolve(`${streamId}#${stream.first + stream.events.length - 1}`);
  }

  getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    const parsed = parseEventId(eventId);
    return Promise.resolve(parsed !== undefined && this.#streams.has(parsed.streamId) ? parsed.streamId : undefined);
  }

  async replayEventsAfter(
    lastEventId: string,
    { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> },
  ): Promise<string> {
    const parsed = parseEventId(lastEventId);
    const stream = parsed === undefined ? undefined : this.#streams.get(parsed.streamId);
    if (parsed === undefined || stream === undefined) return '';
    // Copy first: sending may store new events.
    const start = Math.max(parsed.sequence + 1, stream.first);
    const events = stream.events.slice(start - stream.first);
    for (let i = 0; i < events.length; i++) await send(`${parsed.streamId}#${start + i}`, events[i]!);
    return parsed.streamId;
  }

  /** Forgets every stream whose id starts with `prefix` (a closed session's). */
  dropStreams(prefix: string): void {
    for (const id of this.#streams.keys()) if (id.startsWith(prefix)) this.#streams.delete(id);
  }

  /** Streams held now. */
  get size(): number {
    return this.#streams.size;
  }
}

function parseEventId(eventId: string): { streamId: string; sequence: number } | undefined {
  const at = eventId.lastIndexOf('#');
  if (at <= 0) return undefined;
  const sequence = Number(eventId.slice(at + 1));
  if (!Number.isSafeInteger(sequence) || sequence < 0) return undefined;
  return { streamId: eventId.slice(0, at), sequence };
}
