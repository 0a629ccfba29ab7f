import type { SessionDirectory, SessionDirectoryStats } from '@mummyx/core';
import type { Redis } from 'ioredis';
import { deleteIfHolds, RedisScript } from './redis-script.js';

/**
 * The owner of KEYS[1] (a session key → node id), and that node's origin if
 * it is alive (its lease key ARGV[2]..owner exists) and not the caller
 * (ARGV[1]). A claim whose node is gone, or the caller's own stale claim, is
 * deleted.
 */
const locateScript = new RedisScript(`
local owner = redis.call('GET', KEYS[1])
if not owner then return false end
if owner == ARGV[1] then redis.call('DEL', KEYS[1]) return false end
local origin = redis.call('GET', ARGV[2] .. owner)
if not origin then redis.call('DEL', KEYS[1]) return false end
return origin`);

export interface RedisSessionDirectoryTimes {
  /** How long a node's liveness lease lasts without renewal; a dead node's sessions answer 404 after it. */
  nodeLeaseMs: number;
  /** How long a session's claim lasts without renewal (claims are renewed every third of it while held). */
  sessionTtlMs: number;
}

/**
 * Session key → node, in Redis: `<prefix>session:<key>` holds the id of the
 * node that bound the key (set on claim, deleted on release, renewed while
 * held), `<prefix>node:<id>` the node's origin under a lease the node
 * renews every third of `nodeLeaseMs`. `locate` is one script run: the
 * owner's origin if its lease is alive. After an outage (or a Redis that
 * restarted empty) the node writes its lease and every claim it holds again.
 */
export class RedisSessionDirectory implements SessionDirectory {
  readonly nodeId: string;
  readonly #redis: Redis;
  readonly #origin: string;
  readonly #sessionPrefix: string;
  readonly #nodePrefix: string;
  readonly #times: RedisSessionDirectoryTimes;
  readonly #held = new Set<string>();
  readonly #log: (message: string) => void;
  readonly #leaseTimer: NodeJS.Timeout;
  readonly #claimTimer: NodeJS.Timeout;
  readonly #onReady = (): void => this.#announce(true);
  #forwarded = 0;
  #unknown = 0;
  #closed = false;

  constructor(parts: {
    redis: Redis;
    nodeId: string;
    origin: string;
    keyPrefix: string;
    times: RedisSessionDirectoryTimes;
    log: (message: string) => void;
  }) {
    this.#redis = parts.redis;
    this.nodeId = parts.nodeId;
    this.#origin = parts.origin;
    this.#sessionPrefix = `${parts.keyPrefix}session:`;
    this.#nodePrefix = `${parts.keyPrefix}node:`;
    this.#times = parts.times;
    this.#log = parts.log;
    this.#leaseTimer = setInterval(() => this.#renewLease(), Math.max(50, Math.floor(this.#times.nodeLeaseMs / 3)));
    this.#leaseTimer.unref();
    this.#claimTimer = setInterval(() => this.#announce(false), Math.max(50, Math.floor(this.#times.sessionTtlMs / 3)));
    this.#claimTimer.unref();
    this.#redis.on('ready', this.#onReady);
    if (this.#redis.status === 'ready') this.#renewLease();
  }

  /** Writes this node's lease now; resolves once Redis has it. */
  async start(): Promise<void> {
    await this.#redis.set(this.#nodePrefix + this.nodeId, this.#origin, 'PX', this.#times.nodeLeaseMs);
  }

  claim(key: string): void {
    this.#held.add(key);
    if (this.#redis.status !== 'ready') return;
    this.#redis
      .set(this.#sessionPrefix + key, this.nodeId, 'PX', this.#times.sessionTtlMs)
      .catch((error: Error) => this.#log(`claiming a session: ${error.message}`));
  }

  release(key: string): void {
    this.#held.delete(key);
    if (this.#redis.status !== 'ready') return;
    deleteIfHolds
      .run(this.#redis, [this.#sessionPrefix + key], [this.nodeId])
      .catch((error: Error) => this.#log(`releasing a session: ${error.message}`));
  }

  async locate(key: string): Promise<string | undefined> {
    if (this.#redis.status !== 'ready') {
      this.#unknown++;
      return undefined;
    }
    const origin = await locateScript.run(this.#redis, [this.#sessionPrefix + key], [this.nodeId, this.#nodePrefix]);
    if (typeof origin !== 'string' || origin === this.#origin) {
      this.#unknown++;
      return undefined;
    }
    this.#forwarded++;
    return origin;
  }

  stats(): SessionDirectoryStats {
    return { connected: this.#redis.status === 'ready', forwarded: this.#forwarded, unknown: this.#unknown };
  }

  /** Sessions this node holds now. */
  get size(): number {
    return this.#held.size;
  }

  #renewLease(): void {
    if (this.#closed || this.#redis.status !== 'ready') return;
    this.#redis
      .set(this.#nodePrefix + this.nodeId, this.#origin, 'PX', this.#times.nodeLeaseMs)
      .catch((error: Error) => this.#log(`renewing the node lease: ${error.message}`));
  }

  /** Writes the lease and every held claim (after an outage, or to renew the claims). */
  #announce(withLease: boolean): void {
    if (this.#closed || this.#redis.status !== 'ready') return;
    const batch = this.#redis.pipeline();
    if (withLease) batch.set(this.#nodePrefix + this.nodeId, this.#origin, 'PX', this.#times.nodeLeaseMs);
    for (const key of this.#held) batch.set(this.#sessionPrefix + key, this.nodeId, 'PX', this.#times.sessionTtlMs);
    batch.exec().catch((error: Error) => this.#log(`announcing sessions: ${error.message}`));
  }

  /** Stops renewing and takes this node's lease and claims out of Redis (its sessions then answer 404 elsewhere). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#leaseTimer);
    clearInterval(this.#claimTimer);
    this.#redis.off('ready', this.#onReady);
    if (this.#redis.status !== 'ready') return;
    const batch = this.#redis.pipeline();
    batch.del(this.#nodePrefix + this.nodeId);
    for (const key of this.#held) batch.eval(deleteIfHolds.source, 1, this.#sessionPrefix + key, this.nodeId);
    this.#held.clear();
    await batch.exec().catch(() => {});
  }
}
