import { Redis } from 'ioredis';

/** Where this package reports connection changes and failures. */
export type RedisLog = (level: 'info' | 'error', message: string) => void;

export const stderrRedisLog: RedisLog = (level, message) => {
  process.stderr.write(`mummyx-redis ${level}: ${message}\n`);
};

/** What every Redis-backed piece takes: a URL to connect to, or a client of one's own. */
export interface RedisConnectionOptions {
  /** `redis://[[user]:password@]host[:port][/db]` (or `rediss://`); default `MUMMYX_REDIS_URL`, else `redis://127.0.0.1:6379`. */
  url?: string;
  /** Prefix of every key and channel, so several clusters share one Redis. Default `mummyx:`. */
  keyPrefix?: string;
  /** Connection changes and failures. Default: stderr. */
  log?: RedisLog;
}

/** The URL to connect to: the option, else `MUMMYX_REDIS_URL`, else the local default. */
export function redisUrlOf(url: string | undefined): string {
  const chosen = url ?? process.env['MUMMYX_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  let parsed: URL;
  try {
    parsed = new URL(chosen);
  } catch {
    throw new RangeError(`not a Redis URL: ${chosen}`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new RangeError(`a Redis URL starts with redis:// or rediss://, got ${chosen}`);
  }
  return chosen;
}

/** The URL without its password, for log lines. */
export function safeUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = '***';
  return parsed.href;
}

/**
 * A client that reconnects for ever (100 ms, then up to every 2 s), fails
 * commands that waited through two reconnection attempts instead of queueing
 * them without bound, and logs the start of an outage and the recovery once
 * each.
 */
export function openRedis(url: string, name: string, log: RedisLog): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: 2,
    connectTimeout: 5_000,
    retryStrategy: (times) => Math.min(times * 100, 2_000),
    lazyConnect: false,
  });
  let isDown = false;
  let lastError = '';
  // Errors come with every failed attempt; the outage is logged once, when reconnecting starts
  // (never for a connection closed on purpose, which does not reconnect).
  redis.on('error', (error: Error) => {
    lastError = error.message;
  });
  redis.on('reconnecting', () => {
    if (isDown) return;
    isDown = true;
    log('error', `${name}: lost ${safeUrl(url)}${lastError === '' ? '' : ` (${lastError})`}; reconnecting`);
  });
  redis.on('ready', () => {
    lastError = '';
    if (!isDown) return;
    isDown = false;
    log('info', `${name}: reconnected to ${safeUrl(url)}`);
  });
  return redis;
}

/** Default key prefix. */
export const defaultKeyPrefix = 'mummyx:';

/** Resolves once `redis` is ready, or rejects after `timeoutMs`. */
export function whenReady(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new Error(`Redis not ready after ${timeoutMs} ms (status ${redis.status})`));
    }, timeoutMs);
    const onReady = (): void => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', onReady);
  });
}

/** A positive option in milliseconds (or a count), or its default. */
export function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number of milliseconds`);
  return value;
}
