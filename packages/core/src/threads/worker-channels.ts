import type { Readable } from 'node:stream';
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
import { ResponsePump, streamWindowBytes, type ResponsePort } from './response-pump.js';
import { runHandler } from './run-handler.js';
import { log, post, queueSend } from './worker-messages.js';

/** Rings of ended streams a worker keeps for its next streams. */
const maxFreeRings = 4;

/** Topics of streams and WebSockets alike are kept on the IO thread. */
const subscribe = (id: number, topic: string): void => post([MessageType.Subscribe, id, topic]);
const unsubscribe = (id: number, topic: string): void => post([MessageType.Unsubscribe, id, topic]);

/**
 * What a worker's handlers open that outlives their request: event streams,
 * streamed bodies and WebSockets (their sockets live on the IO thread; a
 * WebSocket's events run here, serially; a body is read here as the IO thread
 * gives credit), client watches for `request.signal`, session bindings, and
 * the session requests the pool sends beside the mailbox.
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
    end: (id) => {
      this.#watchers.delete(id);
      post([MessageType.StreamEnd, id]);
    },
    subscribe,
    unsubscribe,
    forget: (id) => this.#streams.delete(id),
  };
  /** Streamed bodies, by request id, from their start until the IO thread is done with their ring. */
  readonly #responses = new Map<number, ResponsePump>();
  readonly #responsePort: ResponsePort = {
    chunk: (id, offset, length) => post([MessageType.ResponseChunk, id, offset, length]),
    end: (id, failure) => {
      // The whole body is out of this thread (or it failed): the response is complete here.
      this.#watchers.delete(id);
      post([MessageType.ResponseEnd, id, failure]);
    },
  };
  /** Rings of streams that ended, kept for the next ones (a few: each is `streamWindowBytes`). */
  readonly #freeRings: SharedArrayBuffer[] = [];
  /**
   * What to call when the client of a request whose `signal` was read leaves, by request id:
   * until the IO thread says so (ClientGone) or this thread completes the response (a whole
   * response, the end of a stream or body, an upgrade). A stream the IO thread ends itself
   * (the client left: ClientGone follows) keeps its entry.
   */
  readonly #watchers = new Map<number, () => void>();
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
        this.#releaseResponse(message[1]);
        break;
      case MessageType.ResponseCredit:
        this.#responses.get(message[1])?.credit(message[2]);
        break;
      case MessageType.ClientGone: {
        const onGone = this.#watchers.get(message[1]);
        this.#watchers.delete(message[1]);
        onGone?.();
        break;
      }
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
      case MessageType.WsAwaitEvents: {
        const id = message[1];
        const answer = (): void => post([MessageType.WsEventsHandled, id]);
        const events = this.#websockets.get(id)?.events;
        if (events === undefined) answer();
        else events.after(answer);
        break;
      }
      case MessageType.WsBuffered:
        this.#websockets.get(message[1])?.channel.setBufferedAmount(message[2]);
        break;
    }
  };

  /** Asks the IO thread to complete a WebSocket handshake; the connection's events then run on this thread. */
  upgrade(id: number, options: UpgradeOptions | undefined): WebSocketChannel {
    // The handshake completes the response: the request's client watch ends.
    this.#watchers.delete(id);
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

  /**
   * Answers request `id` with a streamed body: the head goes to the IO thread now, the body
   * follows as the IO thread gives credit (ResponsePump).
   */
  sendStream(id: number, status: number, headers: string[], body: Readable | undefined): void {
    if (body === undefined) {
      this.#watchers.delete(id);
      post([MessageType.ResponseOpen, id, status, headers, undefined]);
      return;
    }
    const ring = this.#freeRings.pop() ?? new SharedArrayBuffer(streamWindowBytes);
    // The head first: the pump may post its first bytes at once.
    post([MessageType.ResponseOpen, id, status, headers, ring]);
    this.#responses.set(id, new ResponsePump(id, body, ring, this.#responsePort));
  }

  /**
   * The IO thread is done with a streamed body's ring: a body still being read stops (its
   * client left), and the ring is kept for another stream once nothing writes into it.
   */
  #releaseResponse(id: number): void {
    const pump = this.#responses.get(id);
    if (pump === undefined) return;
    this.#responses.delete(id);
    pump.cancel();
    pump.whenIdle(() => {
      if (this.#freeRings.length < maxFreeRings) this.#freeRings.push(pump.ring);
    });
  }

  /** True while a streamed body may be read (it has credit): its producer needs the event loop to turn. */
  get isPumping(): boolean {
    if (this.#responses.size === 0) return false;
    for (const pump of this.#responses.values()) if (pump.isFlowing) return true;
    return false;
  }

  /**
   * Calls `onGone` if the client of request `id` leaves before its response is complete
   * (`request.signal`). The IO thread is asked to watch only once this thread's event loop
   * turns with the response still incomplete: a handler that reads the signal and answers
   * within the same turn (a fetch handler's JSON answer: the web Request reads it) costs no
   * message either way, and its client's leaving would have come too late to matter.
   */
  watchClient(id: number, onGone: () => void): void {
    this.#watchers.set(id, onGone);
    setImmediate(() => {
      if (this.#watchers.get(id) === onGone) post([MessageType.WatchClient, id]);
    });
  }

  /** Request `id`'s response is complete on this side: its client is no longer watched. */
  unwatch(id: number): void {
    this.#watchers.delete(id);
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
  #isWatched = false;

  constructor(id: number, channels: WorkerChannels) {
    this.id = id;
    this.#channels = channels;
  }

  send(response: PreparedResponse): void {
    if (this.#isWatched) this.#channels.unwatch(this.id);
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

  sendStream(status: number, headers: string[], body: Readable | undefined): void {
    this.#channels.sendStream(this.id, status, headers, body);
  }

  watchClient(onGone: () => void): void {
    this.#isWatched = true;
    this.#channels.watchClient(this.id, onGone);
  }

  bindSession(key: string): () => void {
    return this.#channels.bindSession(key);
  }
}
