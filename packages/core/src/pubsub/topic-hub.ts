/** Anything that can receive published messages: SSE streams, WebSockets. */
export interface Subscriber {
  deliver(message: PublishedMessage): void;
}

/** A published message, encoded lazily once per wire format and shared by all subscribers. */
export class PublishedMessage {
  readonly topic: string;
  readonly data: unknown;
  #sse: string | undefined;

  constructor(topic: string, data: unknown) {
    this.topic = topic;
    this.data = data;
  }

  /** The message as SSE text, computed on first use. */
  sseText(encode: (data: unknown) => string): string {
    return (this.#sse ??= encode(this.data));
  }
}

/**
 * Topic subscriptions on the IO thread. A publish from any thread arrives
 * here as one message and fans out to every subscriber in subscription order.
 */
export class TopicHub {
  readonly #topics = new Map<string, Set<Subscriber>>();
  /** Told when a topic gets its first subscriber (`true`) and loses its last (`false`). */
  onTopicChange: ((topic: string, isActive: boolean) => void) | undefined;

  subscribe(topic: string, subscriber: Subscriber): void {
    let set = this.#topics.get(topic);
    if (set === undefined) {
      this.#topics.set(topic, (set = new Set()));
      this.onTopicChange?.(topic, true);
    }
    set.add(subscriber);
  }

  unsubscribe(topic: string, subscriber: Subscriber): void {
    const set = this.#topics.get(topic);
    if (set === undefined) return;
    set.delete(subscriber);
    if (set.size === 0) {
      this.#topics.delete(topic);
      this.onTopicChange?.(topic, false);
    }
  }

  /** Topics with at least one subscriber. */
  topics(): string[] {
    return [...this.#topics.keys()];
  }

  /** Returns how many subscribers received the message. */
  publish(topic: string, data: unknown): number {
    const set = this.#topics.get(topic);
    if (set === undefined) return 0;
    const message = new PublishedMessage(topic, data);
    // Copy first: a delivery may close a subscriber, which unsubscribes it.
    const subscribers = [...set];
    for (const subscriber of subscribers) subscriber.deliver(message);
    return subscribers.length;
  }

  subscriberCount(topic: string): number {
    return this.#topics.get(topic)?.size ?? 0;
  }

  get topicCount(): number {
    return this.#topics.size;
  }
}

/** One subscriber's topics: joins and leaves them once, and leaves them all when it closes. */
export class Subscriptions {
  readonly #hub: TopicHub;
  readonly #subscriber: Subscriber;
  readonly #topics = new Set<string>();

  constructor(hub: TopicHub, subscriber: Subscriber) {
    this.#hub = hub;
    this.#subscriber = subscriber;
  }

  add(topic: string): void {
    if (this.#topics.has(topic)) return;
    this.#topics.add(topic);
    this.#hub.subscribe(topic, this.#subscriber);
  }

  remove(topic: string): void {
    if (this.#topics.delete(topic)) this.#hub.unsubscribe(topic, this.#subscriber);
  }

  clear(): void {
    for (const topic of this.#topics) this.#hub.unsubscribe(topic, this.#subscriber);
    this.#topics.clear();
  }
}
