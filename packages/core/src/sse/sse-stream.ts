import { encodeSseComment, encodeSseEvent, type SseEvent } from './sse-encoder.js';

/**
 * The transport under a stream handle: the socket on the IO thread, or a
 * message channel to it from a worker. Writes take already-encoded text.
 */
export interface StreamChannel {
  readonly id: number;
  readonly closed: boolean;
  write(text: string): boolean;
  close(): void;
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  /** Registers the one callback fired when the stream ends, whoever ended it. */
  setOnClose(callback: () => void): void;
}

/**
 * An open server-sent events stream. Usable from any thread and after the
 * handler returned. Calls after the stream closed do nothing and return
 * `false` (check `closed`); they never throw for that.
 */
export class SseStream {
  readonly #channel: StreamChannel;
  readonly #closeCallbacks: Array<() => void> = [];
  #closeFired = false;

  constructor(channel: StreamChannel) {
    this.#channel = channel;
    channel.setOnClose(() => {
      if (this.#closeFired) return;
      this.#closeFired = true;
      for (const callback of this.#closeCallbacks.splice(0)) {
        try {
          callback();
        } catch {
          // One failing callback must not keep the others from running.
        }
      }
    });
  }

  /** Unique among this server's streams and WebSockets. */
  get id(): number {
    return this.#channel.id;
  }

  get closed(): boolean {
    return this.#channel.closed;
  }

  /**
   * Sends one event; it is flushed at once. Returns false when the stream is
   * closed. Throws `MX_ERR_SSE_FIELD_INVALID` for fields that would corrupt
   * the stream (see `encodeSseEvent`).
   */
  send(event: SseEvent | string): boolean {
    const text = encodeSseEvent(typeof event === 'string' ? { data: event } : event);
    if (this.#channel.closed) return false;
    return this.#channel.write(text);
  }

  /** Sends a comment line, which clients ignore. Returns false when closed. */
  comment(text = ''): boolean {
    const encoded = encodeSseComment(text);
    if (this.#channel.closed) return false;
    return this.#channel.write(encoded);
  }

  /** Receives every `server.publish(topic, event)` until unsubscribed or closed. */
  subscribe(topic: string): void {
    if (!this.#channel.closed) this.#channel.subscribe(topic);
  }

  unsubscribe(topic: string): void {
    if (!this.#channel.closed) this.#channel.unsubscribe(topic);
  }

  /** Fires once when the client goes away or the stream is closed from this side. */
  onClose(callback: () => void): void {
    if (this.#closeFired) queueMicrotask(callback);
    else this.#closeCallbacks.push(callback);
  }

  /** Ends the stream. */
  close(): void {
    if (!this.#channel.closed) this.#channel.close();
  }
}
