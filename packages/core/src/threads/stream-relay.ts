import type { StreamChannel } from '../sse/sse-stream.js';
import type { WebSocketChannel, MessageKind } from '../websocket/websocket.js';
import type { Job, PoolSink } from './job.js';
import { MessageType, type WsIoMessage } from './message-codec.js';
import { RelayedBody } from './relayed-body.js';
import type { Slot } from './slot.js';

type OpenStream = { slot: Slot; sink: PoolSink } & (
  | { kind: 'sse'; channel: StreamChannel }
  | { kind: 'websocket'; channel: WebSocketChannel }
  | { kind: 'response'; channel: RelayedBody }
);

/**
 * The IO thread's end of the event streams, WebSockets and streamed bodies
 * that handlers on workers open: their channels live here, next to the
 * sockets, and the worker's messages about them (writes, sends, chunks,
 * closes, topics) are applied here. A WebSocket's events go back to the
 * worker that upgraded it, where the connection's state lives; a streamed
 * body's credit goes back to the worker reading it. Each counts in its
 * worker's `streams`, so a worker serving long downloads is not retired for
 * idling and new requests prefer other workers; none holds the worker's
 * place in the scheduler once its handler settled.
 */
export class StreamRelay {
  /** Streams and WebSockets opened by workers, by request id. */
  readonly #streams = new Map<number, OpenStream>();
  /** Streams the worker ended itself: it knows, so their close is not reported back. */
  readonly #endedByWorker = new Set<number>();
  /** Workers with WebSocket events waiting for the end of this event-loop turn. */
  readonly #outboxes: Slot[] = [];
  /** WebSockets whose close waits for their worker to handle the events before it, by request id. */
  readonly #awaitingEvents = new Map<number, () => void>();
  readonly #log: (message: string) => void;

  /** `log` receives upgrades that were refused (debug level). */
  constructor(log: (message: string) => void) {
    this.#log = log;
  }

  /** `job`, running on `slot`, is answered with an event stream. */
  openStream(slot: Slot, job: Job, headers: string[]): void {
    const id = job.id;
    const channel = job.sink.openStream(headers, id);
    this.#streams.set(id, { kind: 'sse', channel, slot, sink: job.sink });
    slot.streams++;
    channel.setOnClose(() => this.#closed(slot, id));
  }

  /** `job`, running on `slot`, becomes a WebSocket; a refused upgrade only tells the worker. */
  upgrade(slot: Slot, job: Job, protocol: string | undefined): void {
    const id = job.id;
    let channel: WebSocketChannel;
    try {
      // Events go back to the worker that upgraded, where the connection's state lives.
      channel = job.sink.upgrade(protocol === undefined ? undefined : { protocol }, id, {
        deliver: (event, payload) => {
          if (!slot.retiring) this.#queueEvent(slot, [MessageType.WsEvent, id, event, payload]);
        },
        afterEvents: (done) => {
          if (slot.retiring) {
            done();
            return;
          }
          this.#awaitingEvents.set(id, done);
          this.#queueEvent(slot, [MessageType.WsAwaitEvents, id]);
        },
        buffered: (bytes) => {
          if (!slot.retiring) this.#queueEvent(slot, [MessageType.WsBuffered, id, bytes]);
        },
      });
    } catch (error) {
      this.#log(`websocket upgrade refused: ${String(error)}`);
      this.#closed(slot, id);
      return;
    }
    this.#streams.set(id, { kind: 'websocket', channel, slot, sink: job.sink });
    slot.streams++;
    channel.setOnClose(() => this.#closed(slot, id));
  }

  /**
   * `job`, running on `slot`, is answered with a streamed body (or, without a `ring`, a head
   * alone): written by the job's sink as an inline one is, by a RelayedBody that writes what
   * the worker puts in the ring.
   */
  openResponse(slot: Slot, job: Job, status: number, headers: string[], ring: SharedArrayBuffer | undefined): void {
    if (ring === undefined) {
      job.sink.sendStream(status, headers, undefined);
      return;
    }
    const id = job.id;
    const body = new RelayedBody(
      ring,
      (bytes) => {
        if (!slot.retiring) slot.post([MessageType.ResponseCredit, id, bytes]);
      },
      () => {
        if (this.#streams.delete(id)) slot.streams--;
        if (!slot.retiring) slot.post([MessageType.StreamClosed, id]);
      },
    );
    this.#streams.set(id, { kind: 'response', channel: body, slot, sink: job.sink });
    slot.streams++;
    job.sink.sendStream(status, headers, body);
  }

  /** The next bytes of a streamed body are at `offset` in its ring. */
  deliver(id: number, offset: number, length: number): void {
    const open = this.#streams.get(id);
    if (open?.kind === 'response') open.channel.deliver(offset, length);
  }

  /** The worker ended a streamed body; `failure` says why when it failed. */
  finishResponse(id: number, failure: string | undefined): void {
    const open = this.#streams.get(id);
    if (open?.kind === 'response') open.channel.finish(failure);
  }

  /** The sink of a stream, WebSocket or streamed body a worker opened for request `id`. */
  sinkOf(id: number): PoolSink | undefined {
    return this.#streams.get(id)?.sink;
  }

  /**
   * The stream or WebSocket ended (or its upgrade failed): its worker is
   * told, if still in the pool, unless the worker ended the stream itself.
   */
  #closed(slot: Slot, id: number): void {
    this.#awaitingEvents.delete(id);
    if (this.#streams.delete(id)) slot.streams--;
    if (this.#endedByWorker.delete(id)) return;
    if (!slot.retiring) slot.post([MessageType.StreamClosed, id]);
  }

  /** The worker has handled the events sent before WsAwaitEvents: the WebSocket's close goes now. */
  eventsHandled(id: number): void {
    const done = this.#awaitingEvents.get(id);
    this.#awaitingEvents.delete(id);
    done?.();
  }

  send(id: number, kind: MessageKind, data: string | Uint8Array): void {
    const open = this.#streams.get(id);
    if (open?.kind === 'websocket') open.channel.send(data, kind);
  }

  closeWebSocket(id: number, code: number | undefined, reason: string | undefined): void {
    const open = this.#streams.get(id);
    if (open?.kind === 'websocket') open.channel.close(code, reason);
  }

  write(id: number, text: string): void {
    const open = this.#streams.get(id);
    if (open?.kind === 'sse') open.channel.write(text);
  }

  end(id: number): void {
    const open = this.#streams.get(id);
    if (open?.kind !== 'sse') return;
    this.#endedByWorker.add(id);
    open.channel.close();
    // Closing reports at once (#closed); an entry left over would otherwise stay.
    this.#endedByWorker.delete(id);
  }

  subscribe(id: number, topic: string): void {
    const open = this.#streams.get(id);
    if (open !== undefined && open.kind !== 'response') open.channel.subscribe(topic);
  }

  unsubscribe(id: number, topic: string): void {
    const open = this.#streams.get(id);
    if (open !== undefined && open.kind !== 'response') open.channel.unsubscribe(topic);
  }

  /**
   * Streams whose worker died end too (WebSockets with 1011; their clients reconnect), and
   * bodies it streamed are cut: their clients see a truncated response.
   */
  closeStreamsOf(slot: Slot): void {
    for (const open of [...this.#streams.values()]) {
      if (open.slot !== slot) continue;
      if (open.kind === 'websocket') open.channel.close(1011, 'server worker exited');
      else if (open.kind === 'sse') open.channel.close();
      else open.channel.finish('the worker thread streaming this body exited');
    }
  }

  /** A WebSocket event for a worker: sent with the others of this event-loop turn (see Outbox). */
  #queueEvent(slot: Slot, message: WsIoMessage): void {
    if (slot.outbox.push(message) && this.#outboxes.push(slot) === 1) setImmediate(this.#flushOutboxes);
  }

  readonly #flushOutboxes = (): void => {
    for (const slot of this.#outboxes.splice(0)) slot.flushOutbox();
  };
}
