import {
  Request,
  type RequestConfig,
  type RequestHead,
  type ResponseSink,
  type UpgradeOptions,
} from '../http/request.js';
import type { PreparedResponse } from '../http/response.js';
import { transferableOf } from '../http/transferable.js';
import { describeError } from '../log/log-handler.js';
import type { RequestHandler } from '../router/router.js';
import type { StreamChannel } from '../sse/sse-stream.js';
import { WorkerStreamChannel, type StreamPort } from '../sse/worker-stream-channel.js';
import { SerialEvents } from '../websocket/serial-events.js';
import { WebSocket, type WebSocketChannel, type WebSocketHandler } from '../websocket/websocket.js';
import { WorkerWebSocketChannel, type WebSocketPort } from '../websocket/worker-websocket-channel.js';
import { doorbellWaiting, ringDoorbell } from './doorbell.js';
import type { Mailbox } from './mailbox.js';
import { MessageType, type IoMessage } from './message-codec.js';
import { runHandler } from './run-handler.js';
import { log, post, queueSend } from './worker-messages.js';

/** Topics of streams and WebSockets alike are kept on the IO thread. */
const subscribe = (id: number, topic: string): void => post([MessageType.Subscribe, id, topic]);
const unsubscribe = (id: number, topic: string): void => post([MessageType.Unsubscribe, id, topic]);

/**
 * What a worker's handlers open that outlives their request: event streams
 * and WebSockets (their sockets live on the IO thread; a WebSocket's events
 * run here, serially), session bindings, and the session requests the pool
 * sends beside the mailbox.
 */
export class WorkerChannels {
  readonly #mailbox: Mailbox;
  readonly #doorbell: Int32Array;
  readonly #requestConfig: RequestConfig;
  #handler: RequestHandler | undefined;
  #websocketHandler: WebSocketHandler | undefined;
  /** Streams this worker opened that are still open, by request id. */
  readonly #streams = new Map<number, WorkerStreamChannel>();
  /** WebSockets upgraded by this worker's handlers, by request id; their events run here. */
  readonly #websockets = new Map<number, { channel: WorkerWebSocketChannel; events: SerialEvents | undefined }>();
  readonly #streamPort: StreamPort = {
    write: (id, text) => post([MessageType.StreamWrite, id, text]),
    end: (id) => post([MessageType.StreamEnd, id]),
    subscribe,
    unsubscribe,
    forget: (id) => this.#streams.delete(id),
  };
  readonly #websocketPort: WebSocketPort = {
    send: (id, data, kind) => queueSend([MessageType.WsSend, id, kind, data]),
    close: (id, code, reason) => post([MessageType.WsClose, id, code, reason]),
    subscribe,
    unsubscribe,
    forget: (id) => this.#websockets.delete(id),
  };
  #busyDepth = 0;
  /**
   * Tells the pool this thread is inside a WebSocket event handler (or a
   * session request's handler), which may block it: new requests then go to
   * other workers. On leaving, the doorbell rings if requests are waiting, so
   * the pool can hand this worker one.
   */
  readonly #eventsBusy = {
    enter: (): void => {
      if (this.#busyDepth++ === 0) this.#mailbox.setEventsBusy(true);
    },
    leave: (): void => {
      if (--this.#busyDepth > 0) return;
      this.#mailbox.setEventsBusy(false);
      if (Atomics.load(this.#doorbell, doorbellWaiting) !== 0) ringDoorbell(this.#doorbell);
    },
  };

  constructor(mailbox: Mailbox, doorbell: Int32Array, requestConfig: RequestConfig) {
    this.#mailbox = mailbox;
    this.#doorbell = doorbell;
    this.#requestConfig = requestConfig;
  }

  /** The app module's handlers, once it has loaded. */
  setApp(handler: RequestHandler, websocketHandler: WebSocketHandler | undefined): void {
    this.#handler = handler;
    this.#websocketHandler = websocketHandler;
  }

  /** A message from the IO thread. */
  readonly onIoMessage = (message: IoMessage): void => {
    switch (message[0]) {
      case MessageType.StreamClosed:
        this.#streams.get(message[1])?.markEnded();
        this.#websockets.get(message[1])?.channel.markEnded();
        break;
      case MessageType.Batch:
        for (const inner of message[1]) this.onIoMessage(inner);
        break;
      case MessageType.SessionRequest:
        this.#runSessionRequest(message[1], message[2], message[3]);
        break;
      case MessageType.WsEvent: {
        const entry = this.#websockets.get(message[1]);
        if (entry === undefined) break;
        let payload = message[3];
        // Bytes arrive as Uint8Array after the structured clone; handlers get Buffers, as inline.
        if (
          payload !== undefined &&
          (payload.kind === 'binary' || payload.kind === 'ping') &&
          !Buffer.isBuffer(payload.data)
        ) {
          const bytes = payload.data as Uint8Array;
          payload = { kind: payload.kind, data: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
        }
        // Closed before the close event runs: inside it, `closed` is true and sends return false.
        if (message[2] === 'close') entry.channel.markEnded();
        entry.events?.push(message[2], payload);
        break;
      }
    }
  };

  /** Asks the IO thread to complete a WebSocket handshake; the connection's events then run on this thread. */
  upgrade(id: number, options: UpgradeOptions | undefined): WebSocketChannel {
    post([MessageType.WsUpgrade, id, options?.protocol]);
    const channel = new WorkerWebSocketChannel(id, this.#websocketPort);
    const handler = options?.handler ?? this.#websocketHandler;
    const events =
      handler === undefined
        ? undefined
        : new SerialEvents(
            handler,
            WebSocket.of(channel),
            (error) => log('error', `websocket handler error on ${id}: ${describeError(error)}`),
            this.#eventsBusy,
          );
    if (handler === undefined) log('info', 'a WebSocket was opened but the app module exports no websocketHandler');
    this.#websockets.set(id, { channel, events });
    return channel;
  }

  openStream(id: number, headers: string[]): StreamChannel {
    post([MessageType.StreamOpen, id, headers]);
    const channel = new WorkerStreamChannel(id, this.#streamPort);
    this.#streams.set(id, channel);
    return channel;
  }

  bindSession(key: string): () => void {
    post([MessageType.SessionBind, key]);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      post([MessageType.SessionUnbind, key]);
    };
  }

  /**
   * Runs a session request beside whatever else this worker does. While its
   * handler runs, the worker counts as busy, so the pool gives other requests
   * to other workers.
   */
  #runSessionRequest(id: number, head: RequestHead, bytes: Uint8Array | undefined): void {
    const body = bytes === undefined ? undefined : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const request = new Request(head, body, new SessionSink(id, this), this.#requestConfig);
    this.#eventsBusy.enter();
    const pending = runHandler(this.#handler!, request, log);
    const settle = (): void => {
      this.#eventsBusy.leave();
      post([MessageType.Settled, id]);
    };
    if (pending === undefined) settle();
    else void pending.then(settle);
  }
}

/** The sink of a session request: everything travels on parentPort, in order with its streams and bindings. */
class SessionSink implements ResponseSink {
  readonly id: number;
  readonly #channels: WorkerChannels;

  constructor(id: number, channels: WorkerChannels) {
    this.id = id;
    this.#channels = channels;
  }

  send(response: PreparedResponse): void {
    const body = response.body;
    const transfer = typeof body === 'string' ? undefined : transferableOf(body);
    post(
      [MessageType.SessionResponse, this.id, response.status, response.headers, body],
      transfer === undefined ? [] : [transfer],
    );
  }

  upgrade(options?: UpgradeOptions): WebSocketChannel {
    return this.#channels.upgrade(this.id, options);
  }

  openStream(headers: string[]): StreamChannel {
    return this.#channels.openStream(this.id, headers);
  }

  bindSession(key: string): () => void {
    return this.#channels.bindSession(key);
  }
}
