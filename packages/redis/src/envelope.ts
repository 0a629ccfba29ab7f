import type { Redis } from 'ioredis';

/**
 * Messages between nodes on Redis channels: `[nodeId, data]` as JSON, so a
 * node can skip what it published itself. Data must survive JSON (strings,
 * numbers, booleans, null, plain objects and arrays). Counts what it sent,
 * received and dropped (Redis unreachable, or data JSON cannot hold).
 */
export class NodeMessages {
  readonly #redis: Redis;
  readonly #nodeId: string;
  published = 0;
  received = 0;
  dropped = 0;

  constructor(redis: Redis, nodeId: string) {
    this.#redis = redis;
    this.#nodeId = nodeId;
  }

  /** Publishes `data` on `channel` for the other nodes; dropped (and counted) while Redis is unreachable. */
  publish(channel: string, data: unknown): void {
    if (this.#redis.status !== 'ready') {
      this.dropped++;
      return;
    }
    let payload: string;
    try {
      payload = JSON.stringify([this.#nodeId, data]);
    } catch {
      this.dropped++;
      return;
    }
    this.published++;
    this.#redis.publish(channel, payload).catch(() => this.dropped++);
  }

  /** The data of a message from another node; undefined for this node's own and for anything malformed. */
  open(payload: string): { data: unknown } | undefined {
    let message: unknown;
    try {
      message = JSON.parse(payload);
    } catch {
      return undefined;
    }
    if (!Array.isArray(message) || message.length !== 2 || typeof message[0] !== 'string') return undefined;
    if (message[0] === this.#nodeId) return undefined;
    this.received++;
    return { data: message[1] };
  }
}
