import { randomBytes } from 'node:crypto';
import type { BrokerStats, Server, SessionDirectoryStats } from '@mummyx/core';
import type { Redis } from 'ioredis';
import { ChannelBridge } from './channel-bridge.js';
import {
  defaultKeyPrefix,
  openRedis,
  redisUrlOf,
  stderrRedisLog,
  whenReady,
  positive,
  type RedisConnectionOptions,
} from './connection.js';
import { RedisSessionDirectory } from './redis-session-directory.js';
import { RedisTopicBroker } from './redis-topic-broker.js';
import { ChannelSubscriptions } from './topic-bridge.js';

export interface AttachRedisOptions extends RedisConnectionOptions {
  /** This node's name in Redis and in log lines; unique per running process. Default: 12 random hex digits. */
  nodeId?: string;
  /**
   * Where the other nodes reach this one to forward a session's requests
   * (`http://host:port`). Default: the server's listening address, which is
   * right when every node runs on one machine; behind a balancer on several
   * machines, bind an address the others can reach and give it here.
   */
  advertiseUrl?: string;
  /** Forward requests of sessions held by other nodes to them (a session directory in Redis). Default true. */
  forwardSessions?: boolean;
  /** How long a node's lease lasts without renewal: a node that died is known dead after it. Default 10 000. */
  nodeLeaseMs?: number;
  /** How long a session's claim lasts without renewal; renewed every third of it while held. Default 86 400 000 (24 h). */
  sessionTtlMs?: number;
  /**
   * `BroadcastChannel` names to carry across nodes, e.g. the MCP event bus of
   * each mount (`mcpEventChannelName('/mcp')` of `@mummyx/mcp-transport`).
   */
  channels?: readonly string[];
  /** How long `attachRedis` waits for Redis before it rejects. Default 10 000. */
  connectTimeoutMs?: number;
}

/** What `RedisNode.stats()` reports. */
export interface RedisNodeStats {
  nodeId: string;
  /** True while both connections (commands, subscriptions) are up. */
  connected: boolean;
  topics: BrokerStats;
  sessions: (SessionDirectoryStats & { held: number }) | undefined;
  channels: Record<string, { published: number; received: number; dropped: number }>;
}

/** One server's membership of a cluster coordinated through Redis. */
export class RedisNode {
  readonly nodeId: string;
  readonly #redis: Redis;
  readonly #subscriber: Redis;
  readonly #broker: RedisTopicBroker;
  readonly #directory: RedisSessionDirectory | undefined;
  readonly #bridges: ChannelBridge[];
  #closed: Promise<void> | undefined;

  /** @internal Use `attachRedis`. */
  constructor(parts: {
    nodeId: string;
    redis: Redis;
    subscriber: Redis;
    broker: RedisTopicBroker;
    directory: RedisSessionDirectory | undefined;
    bridges: ChannelBridge[];
  }) {
    this.nodeId = parts.nodeId;
    this.#redis = parts.redis;
    this.#subscriber = parts.subscriber;
    this.#broker = parts.broker;
    this.#directory = parts.directory;
    this.#bridges = parts.bridges;
  }

  stats(): RedisNodeStats {
    const directory = this.#directory;
    return {
      nodeId: this.nodeId,
      connected: this.#redis.status === 'ready' && this.#subscriber.status === 'ready',
      topics: this.#broker.stats(),
      sessions: directory === undefined ? undefined : { ...directory.stats(), held: directory.size },
      channels: Object.fromEntries(this.#bridges.map((bridge) => [bridge.name, bridge.stats()])),
    };
  }

  /**
   * Leaves the cluster: this node's lease and session claims are deleted,
   * its channels stop, both connections close. Close the server first (its
   * sessions release their claims as they end).
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.#directory?.close();
      for (const bridge of this.#bridges) bridge.close();
      this.#subscriber.disconnect();
      await this.#redis.quit().catch(() => this.#redis.disconnect());
    })();
    return this.#closed;
  }
}

/**
 * Makes `server` one node of a cluster coordinated through Redis: its
 * pub/sub topics reach the subscribers of every node, requests for sessions
 * held by another node are forwarded there (unless `forwardSessions` is
 * false), and the `channels` given cross nodes. Call it on the IO thread
 * once the server listens (its address is the default `advertiseUrl`);
 * resolves once Redis answered. Without it, the server is one node on its
 * own, as before.
 */
export async function attachRedis(server: Server, options: AttachRedisOptions = {}): Promise<RedisNode> {
  const url = redisUrlOf(options.url);
  const log = options.log ?? stderrRedisLog;
  const keyPrefix = options.keyPrefix ?? defaultKeyPrefix;
  const nodeId = options.nodeId ?? randomBytes(6).toString('hex');
  const forwardSessions = options.forwardSessions !== false;
  const origin = options.advertiseUrl ?? server.address()?.url;
  if (forwardSessions && origin === undefined) {
    throw new RangeError('attachRedis: the server is not listening yet; call it after listen() or give advertiseUrl');
  }
  for (const name of options.channels ?? []) {
    if (ChannelBridge.isBridged(name)) {
      throw new RangeError(`attachRedis: channel ${name} is bridged already in this process (one node per process)`);
    }
  }
  const nodeLeaseMs = positive('nodeLeaseMs', options.nodeLeaseMs, 10_000);
  const sessionTtlMs = positive('sessionTtlMs', options.sessionTtlMs, 24 * 3_600_000);
  const redis = openRedis(url, `node ${nodeId} commands`, log);
  const subscriber = openRedis(url, `node ${nodeId} subscriptions`, log);
  try {
    const timeoutMs = positive('connectTimeoutMs', options.connectTimeoutMs, 10_000);
    await Promise.all([whenReady(redis, timeoutMs), whenReady(subscriber, timeoutMs)]);
  } catch (error) {
    redis.disconnect();
    subscriber.disconnect();
    throw error;
  }
  const channels = new ChannelSubscriptions(subscriber, (message) => log('error', `node ${nodeId}: ${message}`));
  const broker = new RedisTopicBroker({ redis, subscriber, channels, nodeId, keyPrefix });
  let directory: RedisSessionDirectory | undefined;
  if (forwardSessions) {
    directory = new RedisSessionDirectory({
      redis,
      nodeId,
      origin: origin!.replace(/\/$/, ''),
      keyPrefix,
      times: { nodeLeaseMs, sessionTtlMs },
      log: (message) => log('error', `node ${nodeId}: ${message}`),
    });
    await directory.start();
    server.attachSessionDirectory(directory);
  }
  server.attachBroker(broker);
  const bridges = (options.channels ?? []).map(
    (name) => new ChannelBridge(name, { redis, channels, nodeId, keyPrefix }),
  );
  return new RedisNode({ nodeId, redis, subscriber, broker, directory, bridges });
}
