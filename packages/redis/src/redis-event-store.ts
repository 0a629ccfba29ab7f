import type { EventStore } from '@mummyx/mcp-transport';
import { ClientHolder, type RedisClientOptions } from './client-holder.js';
import { positive } from './connection.js';

type Message = Parameters<EventStore['storeEvent']>[1];

export interface RedisEventStoreOptions extends RedisClientOptions {
  /** Events kept per stream (approximately: Redis trims whole nodes); the oldest go first. Default 1 000. */
  maxEventsPerStream?: number;
  /** How long a stream is kept after its last event. Default 3 600 000 (1 h). */
  streamTtlMs?: number;
}

/**
 * The MCP transport's `EventStore` in Redis, so a client that lost a stream
 * resumes it with `Last-Event-ID` through any node (and after the node that
 * wrote it restarted): each stream is a Redis stream
 * `<prefix>events:<streamId>`, trimmed to `maxEventsPerStream` and expiring
 * `streamTtlMs` after its last event. Event ids are `<streamId>#<entry id>`.
 * Storing an event is one round trip (XADD and PEXPIRE pipelined).
 */
export class RedisEventStore implements EventStore {
  readonly #client: ClientHolder;
  readonly #maxEvents: number;
  readonly #ttlMs: number;

  constructor(options: RedisEventStoreOptions = {}) {
    this.#client = new ClientHolder(options, 'event store');
    this.#maxEvents = positive('maxEventsPerStream', options.maxEventsPerStream, 1_000);
    this.#ttlMs = positive('streamTtlMs', options.streamTtlMs, 3_600_000);
  }

  #key(streamId: string): string {
    return `${this.#client.keyPrefix}events:${streamId}`;
  }

  async storeEvent(streamId: string, message: Message): Promise<string> {
    const key = this.#key(streamId);
    const results = await this.#client.redis
      .pipeline()
      .xadd(key, 'MAXLEN', '~', this.#maxEvents, '*', 'm', JSON.stringify(message))
      .pexpire(key, this.#ttlMs)
      .exec();
    const [error, entryId] = results?.[0] ?? [new Error('no reply')];
    if (error !== null || typeof entryId !== 'string') throw error ?? new Error('XADD returned no id');
    return `${streamId}#${entryId}`;
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    const parsed = parseEventId(eventId);
    if (parsed === undefined) return undefined;
    return (await this.#client.redis.exists(this.#key(parsed.streamId))) === 1 ? parsed.streamId : undefined;
  }

  async replayEventsAfter(
    lastEventId: string,
    { send }: { send: (eventId: string, message: Message) => Promise<void> },
  ): Promise<string> {
    const parsed = parseEventId(lastEventId);
    if (parsed === undefined) return '';
    const key = this.#key(parsed.streamId);
    const redis = this.#client.redis;
    const [entries, exists] = await Promise.all([
      redis.xrange(key, `(${parsed.entryId}`, '+', 'COUNT', this.#maxEvents * 2),
      redis.exists(key),
    ]);
    if (exists !== 1) return '';
    for (const [entryId, fields] of entries) {
      const json = fields[1];
      if (json === undefined) continue;
      await send(`${parsed.streamId}#${entryId}`, JSON.parse(json) as Message);
    }
    return parsed.streamId;
  }

  /** Closes the connection this store opened. */
  close(): Promise<void> {
    return this.#client.close();
  }
}

const entryIdPattern = /^\d{1,20}-\d{1,20}$/;

function parseEventId(eventId: string): { streamId: string; entryId: string } | undefined {
  const at = eventId.lastIndexOf('#');
  if (at <= 0) return undefined;
  const entryId = eventId.slice(at + 1);
  if (!entryIdPattern.test(entryId)) return undefined;
  return { streamId: eventId.slice(0, at), entryId };
}
