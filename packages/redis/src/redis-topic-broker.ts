import type { BrokerStats, TopicBroker } from '@mummyx/core';
import type { Redis } from 'ioredis';
import { NodeMessages } from './envelope.js';
import type { ChannelSubscriptions } from './topic-bridge.js';

/**
 * core's pub/sub topics across nodes: each topic with local subscribers is
 * one Redis channel this node subscribes to; each local publish is one
 * PUBLISH of `[nodeId, data]` (JSON), which Redis hands to every subscribed
 * node in the order it got them. A node skips its own messages (its
 * subscribers had them at once). While Redis is unreachable, publishes are
 * counted as dropped (pub/sub keeps nothing for later), local delivery goes
 * on, and `connected` is false.
 */
export class RedisTopicBroker implements TopicBroker {
  readonly #redis: Redis;
  readonly #subscriber: Redis;
  readonly #channels: ChannelSubscriptions;
  readonly #messages: NodeMessages;
  readonly #prefix: string;
  #deliver: ((topic: string, data: unknown) => void) | undefined;
  #disconnects = 0;

  constructor(parts: {
    redis: Redis;
    subscriber: Redis;
    channels: ChannelSubscriptions;
    nodeId: string;
    keyPrefix: string;
  }) {
    this.#redis = parts.redis;
    this.#subscriber = parts.subscriber;
    this.#channels = parts.channels;
    this.#messages = new NodeMessages(parts.redis, parts.nodeId);
    this.#prefix = `${parts.keyPrefix}topic:`;
    let isUp = this.#subscriber.status === 'ready';
    this.#subscriber.on('ready', () => (isUp = true));
    this.#subscriber.on('close', () => {
      if (isUp) this.#disconnects++;
      isUp = false;
    });
  }

  attach(deliver: (topic: string, data: unknown) => void, topics: readonly string[]): void {
    this.#deliver = deliver;
    for (const topic of topics) this.topicChanged(topic, true);
  }

  topicChanged(topic: string, isActive: boolean): void {
    const channel = this.#prefix + topic;
    if (!isActive) {
      this.#channels.remove(channel);
      return;
    }
    this.#channels.add(channel, (payload) => this.#receive(topic, payload));
  }

  publish(topic: string, data: unknown): void {
    this.#messages.publish(this.#prefix + topic, data);
  }

  #receive(topic: string, payload: string): void {
    const message = this.#messages.open(payload);
    if (message !== undefined) this.#deliver?.(topic, message.data);
  }

  stats(): BrokerStats {
    return {
      connected: this.#redis.status === 'ready' && this.#subscriber.status === 'ready',
      published: this.#messages.published,
      received: this.#messages.received,
      dropped: this.#messages.dropped,
      disconnects: this.#disconnects,
    };
  }

  detach(): void {
    this.#deliver = undefined;
  }
}
