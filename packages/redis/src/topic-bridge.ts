import type { Redis } from 'ioredis';

/** One Redis channel's messages, handed to whoever subscribed to it on this node. */
export type ChannelHandler = (payload: string) => void;

/**
 * The subscriber connection of a node: one Redis SUBSCRIBE per channel that
 * some part of the node listens to, re-issued for every channel whenever the
 * connection becomes ready again (a SUBSCRIBE sent during an outage fails,
 * so ioredis's own resubscription would miss it).
 */
export class ChannelSubscriptions {
  readonly #subscriber: Redis;
  readonly #handlers = new Map<string, ChannelHandler>();
  readonly #onError: (message: string) => void;

  constructor(subscriber: Redis, onError: (message: string) => void) {
    this.#subscriber = subscriber;
    this.#onError = onError;
    subscriber.on('message', (channel: string, payload: string) => this.#handlers.get(channel)?.(payload));
    subscriber.on('ready', () => {
      if (this.#handlers.size > 0) this.#send('subscribe', [...this.#handlers.keys()]);
    });
  }

  get size(): number {
    return this.#handlers.size;
  }

  add(channel: string, handler: ChannelHandler): void {
    const isNew = !this.#handlers.has(channel);
    this.#handlers.set(channel, handler);
    if (isNew && this.#subscriber.status === 'ready') this.#send('subscribe', [channel]);
  }

  remove(channel: string): void {
    if (!this.#handlers.delete(channel)) return;
    if (this.#subscriber.status === 'ready') this.#send('unsubscribe', [channel]);
  }

  #send(command: 'subscribe' | 'unsubscribe', channels: string[]): void {
    this.#subscriber[command](...channels).catch((error: Error) => {
      this.#onError(`${command} ${channels.length} channel(s): ${error.message}`);
    });
  }
}
