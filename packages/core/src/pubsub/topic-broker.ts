/**
 * Carries a server's pub/sub topics to the other servers (nodes) of a
 * cluster and back, through a shared engine such as Redis. Attach one with
 * `server.attachBroker(broker)` on the IO thread; without one, topics reach
 * this server's subscribers only.
 *
 * The server delivers every publish to its own subscribers first, then hands
 * it to `publish`; the broker hands messages from other nodes to the
 * `deliver` function it got in `attach`, never a message this node published
 * (each reaches each subscriber once). A broker keeps each node's publishes
 * to a topic in order. A broker that loses its engine goes on taking
 * publishes (local subscribers are served by the server as before) and
 * reports it in `stats()`.
 */
export interface TopicBroker {
  /**
   * Starts carrying: `deliver(topic, data)` gives a message from another node
   * to this server's subscribers; `topics` are those with local subscribers now.
   */
  attach(deliver: (topic: string, data: unknown) => void, topics: readonly string[]): void;
  /** A topic got its first local subscriber (`isActive` true) or lost its last one. */
  topicChanged(topic: string, isActive: boolean): void;
  /** A message published on this node, already delivered to its subscribers. */
  publish(topic: string, data: unknown): void;
  /** Shown as `server.stats().broker`. */
  stats(): BrokerStats;
  /** The server closed: stop delivering. */
  detach(): void;
}

/** What a broker reports in `server.stats().broker`. */
export interface BrokerStats {
  /** True while messages cross to the other nodes. */
  connected: boolean;
  /** This node's publishes handed to the other nodes. */
  published: number;
  /** Messages from other nodes delivered here. */
  received: number;
  /** Publishes that could not be handed on (the engine was unreachable). */
  dropped: number;
  /** Times the connection to the engine was lost. */
  disconnects: number;
}
