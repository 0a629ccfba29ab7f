import { randomBytes } from 'node:crypto';
import {
  defaultKeyPrefix,
  openRedis,
  positive,
  redisUrlOf,
  stderrRedisLog,
  whenReady,
  type RedisConnectionOptions,
} from './connection.js';

export interface ClusterSecretOptions extends RedisConnectionOptions {
  /** What the secret is for; one secret per name. */
  name: string;
  /** Random bytes in a new secret. Default 32. */
  bytes?: number;
  /** How long to wait for Redis. Default 10 000. */
  timeoutMs?: number;
}

/**
 * A secret every node of the cluster shares, such as `mountMcp`'s
 * `requestStateKey` (a multi-round-trip retry may reach any node): the
 * first node to ask makes it at random, Redis keeps it (`SET NX`, no
 * expiry), every node reads the same value. Resolves with it as hex. Read it
 * on the IO thread before the server starts and hand it to the app module
 * (the environment reaches every worker). A Redis that loses its data makes
 * a new secret for the nodes that start afterwards: where that matters, set
 * the key yourself, the same on every node.
 */
export async function clusterSecret(options: ClusterSecretOptions): Promise<string> {
  const url = redisUrlOf(options.url);
  const key = `${options.keyPrefix ?? defaultKeyPrefix}secret:${options.name}`;
  const redis = openRedis(url, `secret ${options.name}`, options.log ?? stderrRedisLog);
  try {
    await whenReady(redis, positive('timeoutMs', options.timeoutMs, 10_000));
    const fresh = randomBytes(positive('bytes', options.bytes, 32)).toString('hex');
    await redis.set(key, fresh, 'NX');
    const secret = await redis.get(key);
    if (secret === null) throw new Error(`Redis lost ${key} as it was written`);
    return secret;
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}
