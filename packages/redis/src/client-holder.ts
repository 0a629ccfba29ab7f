import type { Redis } from 'ioredis';
import { defaultKeyPrefix, openRedis, redisUrlOf, stderrRedisLog, type RedisConnectionOptions } from './connection.js';

/** A store's options: connect by URL, or share a client the caller owns. */
export interface RedisClientOptions extends RedisConnectionOptions {
  /** A client to use instead of opening one (it is not closed by `close()`). */
  redis?: Redis;
}

/**
 * The client of a Redis-backed store, opened on first use: a store made in
 * an app module exists on every thread, and only the threads that use it
 * connect.
 */
export class ClientHolder {
  readonly keyPrefix: string;
  readonly #name: string;
  readonly #url: string | undefined;
  readonly #log;
  #redis: Redis | undefined;
  readonly #isOwned: boolean;

  constructor(options: RedisClientOptions, name: string) {
    this.keyPrefix = options.keyPrefix ?? defaultKeyPrefix;
    this.#name = name;
    this.#log = options.log ?? stderrRedisLog;
    this.#redis = options.redis;
    this.#isOwned = options.redis === undefined;
    // Checked now, so a bad URL fails where the store is made.
    this.#url = this.#isOwned ? redisUrlOf(options.url) : undefined;
  }

  get redis(): Redis {
    return (this.#redis ??= openRedis(this.#url!, this.#name, this.#log));
  }

  async close(): Promise<void> {
    const redis = this.#redis;
    if (!this.#isOwned || redis === undefined) return;
    this.#redis = undefined;
    await redis.quit().catch(() => redis.disconnect());
  }
}
