import { Subscriptions, type PublishedMessage, type Subscriber, type TopicHub } from '../pubsub/topic-hub.js';
import { Channel } from './channel.js';

/** A channel on the IO thread, next to its socket: it joins the server's topic hub itself. */
export abstract class HubChannel extends Channel implements Subscriber {
  readonly #topics: Subscriptions;

  constructor(id: number, hub: TopicHub) {
    super(id);
    this.#topics = new Subscriptions(hub, this);
  }

  /** Sends a published message to the peer. */
  abstract deliver(message: PublishedMessage): void;

  protected join(topic: string): void {
    this.#topics.add(topic);
  }

  protected leave(topic: string): void {
    this.#topics.remove(topic);
  }

  /** Leaves every topic; subclasses free the rest of what they hold around it. */
  protected release(): void {
    this.#topics.clear();
  }
}
