import type { StreamChannel } from '../sse/sse-stream.js';
import type { WebSocketChannel, MessageKind } from '../websocket/websocket.js';
import type { Job } from './job.js';
import { MessageType, type WsEventMessage } from './message-codec.js';
import type { Slot } from './slot.js';

type OpenStream =
  { kind: 'sse'; channel: StreamChannel; slot: Slot } | { kind: 'websocket'; channel: WebSocketChannel; slot: Slot };

/**
 * The IO thread's end of the event streams and WebSockets that handlers on
 * workers open: their channels live here, next to the sockets, and the
 * worker's messages about them (writes, sends, closes, topics) are applied
 * here. A WebSocket's events go back to the worker that upgraded it, where
 * the connection's state lives.
 */
export class StreamRelay {
  /** Streams and WebSockets opened by workers, by request id. */
  readonly #streams = new Map<number, OpenStream>();
  /** Workers with WebSocket events waiting for the end of this event-loop turn. */
  readonly #outboxes: Slot[] = [];
  readonly #log: (message: string) => void;

  /** `log` receives upgrades that were refused (debug level). */
  constructor(log: (message: string) => void) {
    this.#log = log;
  }

  /** `job`, running on `slot`, is answered with an event stream. */
  openStream(slot: Slot, job: Job, headers: string[]): void {
    const id = job.id;
    const channel = job.sink.openStream(headers, id);
    this.#streams.set(id, { kind: 'sse', channel, slot });
    slot.streams++;
    channel.setOnClose(() => this.#closed(slot, id));
  }

  /** `job`, running on `slot`, becomes a WebSocket; a refused upgrade only tells the worker. */
  upgrade(slot: Slot, job: Job, protocol: string | undefined): void {
    const id = job.id;
    let channel: WebSocketChannel;
    try {
      // Events go back to the worker that upgraded, where the connection's state lives.
      channel = job.sink.upgrade(protocol === undefined ? undefined : { protocol }, id, (event, payload) => {
        if (!slot.retiring) this.#queueEvent(slot, [MessageType.WsEvent, id, event, payload]);
      });
    } catch (error) {
      this.#log(`websocket upgrade refused: ${String(error)}`);
      this.#closed(slot, id);
      return;
    }
    this.#streams.set(id, { kind: 'websocket', channel, slot });
    slot.streams++;
    channel.setOnClose(() => this.#closed(slot, id));
  }

  /** The stream or WebSocket ended (or its upgrade failed): its worker is told, if still in the pool. */
  #closed(slot: Slot, id: number): void {
    if (this.#streams.delete(id)) slot.streams--;
    if (!slot.retiring) slot.post([MessageType.StreamClosed, id]);
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
    this.#streams.get(id)?.channel.close();
  }

  subscribe(id: number, topic: string): void {
    this.#streams.get(id)?.channel.subscribe(topic);
  }

  unsubscribe(id: number, topic: string): void {
    this.#streams.get(id)?.channel.unsubscribe(topic);
  }

  /** Streams whose worker died end too (WebSockets with 1011); their clients reconnect. */
  closeStreamsOf(slot: Slot): void {
    for (const open of [...this.#streams.values()]) {
      if (open.slot !== slot) continue;
      if (open.kind === 'websocket') open.channel.close(1011, 'server worker exited');
      else open.channel.close();
    }
  }

  /** A WebSocket event for a worker: sent with the others of this event-loop turn (see Outbox). */
  #queueEvent(slot: Slot, message: WsEventMessage): void {
    if (slot.outbox.push(message) && this.#outboxes.push(slot) === 1) setImmediate(this.#flushOutboxes);
  }

  readonly #flushOutboxes = (): void => {
    for (const slot of this.#outboxes.splice(0)) slot.flushOutbox();
  };
}
