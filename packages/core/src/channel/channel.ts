/**
 * What every channel under an SSE stream or a WebSocket handle shares, on
 * whichever thread it serves: a stable id, topic subscriptions while it is
 * open, and one close notification, fired once whoever ended the channel (the
 * peer, the handler, the server, a worker's exit). Subclasses say how topics
 * are joined and left and what ending frees.
 */
export abstract class Channel {
  readonly id: number;
  #ended = false;
  #onClose: (() => void) | undefined;

  constructor(id: number) {
    this.id = id;
  }

  /** True once nothing more can be sent. */
  abstract get closed(): boolean;

  /** Receives every publish to `topic` until unsubscribed or closed. */
  subscribe(topic: string): void {
    if (!this.closed) this.join(topic);
  }

  unsubscribe(topic: string): void {
    if (!this.closed) this.leave(topic);
  }

  /** Registers the one callback fired when the channel ends, whoever ended it. */
  setOnClose(callback: () => void): void {
    this.#onClose = callback;
  }

  /**
   * Records that the channel ended, on either side: `release()` frees what it
   * holds, then the close callback runs. Only the first call does anything.
   */
  markEnded(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.release();
    const callback = this.#onClose;
    this.#onClose = undefined;
    callback?.();
  }

  /** True once `markEnded()` ran. */
  protected get hasEnded(): boolean {
    return this.#ended;
  }

  protected abstract join(topic: string): void;
  protected abstract leave(topic: string): void;
  /** Frees what the channel holds (topics, timers, its place in a table); runs once, in `markEnded()`. */
  protected abstract release(): void;
}
