import { BroadcastChannel } from 'node:worker_threads';
import type { Redis } from 'ioredis';
import { NodeMessages } from './envelope.js';
import type { ChannelSubscriptions } from './topic-bridge.js';

/**
 * A `BroadcastChannel` of this process carried to the same-named channel of
 * every other node: what any thread posts on it is published to Redis as
 * `[nodeId, message]` (JSON), and what other nodes published is posted on
 * it here, reaching every thread's channel of that name. A BroadcastChannel
 * never hears its own posts, so nothing loops, as long as one process
 * bridges a name once (a second bridge would hear the first one's posts:
 * it is refused). This is how the MCP event bus (one channel per mount
 * path) spans nodes.
 */
/** Channel names bridged in this process: a second bridge of one name would echo every message back. */
const bridged = new Set<string>();

export class ChannelBridge {
  /** True while some bridge of this process carries `name`. */
  static isBridged(name: string): boolean {
    return bridged.has(name);
  }

  readonly name: string;
  readonly #channel: BroadcastChannel;
  readonly #channels: ChannelSubscriptions;
  readonly #redisChannel: string;
  readonly #messages: NodeMessages;

  constructor(
    name: string,
    parts: { redis: Redis; channels: ChannelSubscriptions; nodeId: string; keyPrefix: string },
  ) {
    if (bridged.has(name)) {
      throw new RangeError(`channel ${name} is bridged already in this process (one node per process)`);
    }
    bridged.add(name);
    this.name = name;
    this.#messages = new NodeMessages(parts.redis, parts.nodeId);
    this.#channels = parts.channels;
    this.#redisChannel = `${parts.keyPrefix}channel:${name}`;
    this.#channel = new BroadcastChannel(name);
    this.#channel.onmessage = (event) => this.#messages.publish(this.#redisChannel, (event as { data?: unknown }).data);
    (this.#channel as { unref?: () => void }).unref?.();
    this.#channels.add(this.#redisChannel, (payload) => this.#receive(payload));
  }

  #receive(payload: string): void {
    const message = this.#messages.open(payload);
    if (message !== undefined) this.#channel.postMessage(message.data);
  }

  stats(): { published: number; received: number; dropped: number } {
    const { published, received, dropped } = this.#messages;
    return { published, received, dropped };
  }

  close(): void {
    if (!bridged.delete(this.name)) return;
    this.#channels.remove(this.#redisChannel);
    this.#channel.close();
  }
}
