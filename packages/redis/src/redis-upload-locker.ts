import { randomBytes } from 'node:crypto';
import type { UploadLocker } from '@mummyx/core/tus';
import { ClientHolder, type RedisClientOptions } from './client-holder.js';
import { deleteIfHolds, extendIfHolds } from './redis-script.js';
import { positive } from './connection.js';

export interface RedisUploadLockerOptions extends RedisClientOptions {
  /**
   * How long a lock lives without renewal. The holder renews it every third
   * of this; a node that dies mid-PATCH frees its uploads after it. Default 6 000.
   */
  leaseMs?: number;
  /** How often a waiting request tries again. Default 25. */
  retryIntervalMs?: number;
}

/**
 * tus upload locks shared by every node (and thread) that serves one upload
 * directory: `<prefix>upload-lock:<id>` set with NX under a lease the holder
 * renews, released only by its holder (a random token), so PATCHes to one
 * upload from different nodes never interleave. The bytes themselves must
 * be on storage every node mounts (the same `directory`).
 */
export class RedisUploadLocker implements UploadLocker {
  readonly #client: ClientHolder;
  readonly #leaseMs: number;
  readonly #retryIntervalMs: number;

  constructor(options: RedisUploadLockerOptions = {}) {
    this.#client = new ClientHolder(options, 'upload locks');
    this.#leaseMs = positive('leaseMs', options.leaseMs, 6_000);
    this.#retryIntervalMs = positive('retryIntervalMs', options.retryIntervalMs, 25);
  }

  #key(id: string): string {
    return `${this.#client.keyPrefix}upload-lock:${id}`;
  }

  async acquire(id: string, timeoutMs: number): Promise<(() => void) | undefined> {
    const redis = this.#client.redis;
    const key = this.#key(id);
    const token = randomBytes(16).toString('hex');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if ((await redis.set(key, token, 'PX', this.#leaseMs, 'NX')) === 'OK') break;
      const remaining = deadline - Date.now();
      if (remaining <= 0) return undefined;
      await new Promise((resolve) => setTimeout(resolve, Math.min(this.#retryIntervalMs, remaining)));
    }
    const renewal = setInterval(
      () => {
        extendIfHolds.run(redis, [key], [token, this.#leaseMs]).catch(() => {});
      },
      Math.max(10, Math.floor(this.#leaseMs / 3)),
    );
    renewal.unref();
    let isReleased = false;
    return () => {
      if (isReleased) return;
      isReleased = true;
      clearInterval(renewal);
      deleteIfHolds.run(redis, [key], [token]).catch(() => {});
    };
  }

  async isLocked(id: string): Promise<boolean> {
    return (await this.#client.redis.exists(this.#key(id))) === 1;
  }

  /** Closes the connection this locker opened. */
  close(): Promise<void> {
    return this.#client.close();
  }
}
