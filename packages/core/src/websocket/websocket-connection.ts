import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import type { WebSocketServer, WebSocket as WsSocket, RawData } from 'ws';
import { HubChannel } from '../channel/hub-channel.js';
import { MxError } from '../errors.js';
import type { LogLevel } from '../log/log-handler.js';
import type { PublishedMessage, TopicHub } from '../pubsub/topic-hub.js';
import { SerialEvents } from './serial-events.js';
import {
  WebSocket,
  type MessageKind,
  type WebSocketChannel,
  type WebSocketEvent,
  type WebSocketHandler,
  type WebSocketMessage,
} from './websocket.js';

/** Where a connection's events go: the inline handler, or a message to the owning worker. */
export type EventDelivery = (event: WebSocketEvent, message: WebSocketMessage) => void;

/** What a connection tells the thread that runs its handler. */
export interface EventRelay {
  deliver: EventDelivery;
  /** Calls `done` once the handler has handled every event delivered so far (its replies are sent). */
  afterEvents(done: () => void): void;
  /** The peer has fallen more than half of `maxBufferedBytes` behind (bytes queued), or caught up (0). */
  buffered(bytes: number): void;
}

/** What every WebSocket of one server shares. */
export interface WebSocketContext {
  readonly wss: WebSocketServer;
  readonly hub: TopicHub;
  readonly heartbeatIntervalMs: number;
  /** Bytes a peer may fall behind before its connection is closed with 1008. */
  readonly maxBufferedBytes: number;
  /** How long a close the peer started waits for the handler's replies to the events before it. */
  readonly closeTimeoutMs: number;
  readonly connections: Set<WsConnection>;
  /** The inline handler (inline mode, or routes pinned inline). */
  readonly handler: WebSocketHandler | undefined;
  /** Counts a connection closed for falling `maxBufferedBytes` behind. */
  overflowed(): void;
  log(level: LogLevel, message: string): void;
}

export interface WebSocketServerOptions {
  maxMessageBytes: number;
  maxFragments: number;
  perMessageDeflate: boolean;
  closeTimeoutMs: number;
  handleProtocols: ((protocols: Set<string>, request: IncomingMessage) => string | false) | undefined;
}

const chosenProtocol = Symbol('mummyx.chosenProtocol');

/** Records the subprotocol a handler chose with `upgradeToWebSocket({ protocol })`. */
export function setChosenProtocol(request: IncomingMessage, protocol: string): void {
  (request as IncomingMessage & { [chosenProtocol]?: string })[chosenProtocol] = protocol;
}

/**
 * `ws`, loaded when the first server is created. Every worker thread imports
 * this library (through the app module) and never creates a server, and
 * importing `ws` is about half of what importing the library costs a thread
 * (some 50 ms of CPU).
 */
let wsModule: typeof import('ws') | undefined;
const require = createRequire(import.meta.url);

function loadWs(): typeof import('ws') {
  wsModule ??= require('ws') as typeof import('ws');
  return wsModule;
}

export function createWss(options: WebSocketServerOptions): WebSocketServer {
  const handleProtocols = options.handleProtocols;
  const wss = new (loadWs().WebSocketServer)({
    noServer: true,
    clientTracking: false,
    maxPayload: options.maxMessageBytes,
    maxFragments: options.maxFragments,
    perMessageDeflate: options.perMessageDeflate,
    closeTimeout: options.closeTimeoutMs,
    // A handler's choice wins when the client offered it; then the server's option; then the first offer.
    handleProtocols: (protocols: Set<string>, request: IncomingMessage): string | false => {
      const chosen = (request as IncomingMessage & { [chosenProtocol]?: string })[chosenProtocol];
      if (chosen !== undefined) return protocols.has(chosen) ? chosen : false;
      if (handleProtocols !== undefined) return handleProtocols(protocols, request);
      const first = protocols.values().next();
      return first.done === true ? false : first.value;
    },
  } as ConstructorParameters<typeof WebSocketServer>[0]);
  wss.on('error', () => {});
  return wss;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

const noRelay: EventRelay = { deliver: () => {}, afterEvents: (done) => done(), buffered: () => {} };

/**
 * One WebSocket on the IO thread, over `ws` (framing, masking, UTF-8 and
 * close-code validation, auto-pong, fragment and size limits). Sends made
 * before the handshake completes are queued. A peer more than
 * `maxBufferedBytes` behind is closed with 1008 (direct sends and published
 * messages alike), so one client that does not read cannot grow the
 * server's memory.
 */
export class WsConnection extends HubChannel implements WebSocketChannel {
  readonly #context: WebSocketContext;
  #ws: WsSocket | undefined;
  /** `ws`'s own close, for the server's closes (the instance's is replaced, see #attach). */
  #closeNow: ((code?: number, reason?: string | Buffer) => void) | undefined;
  #socket: Duplex | undefined;
  #pending: Array<() => void> = [];
  #closed = false;
  #errorDelivered = false;
  #alive = true;
  /** Set while the peer is more than half of `maxBufferedBytes` behind (reported to the relay). */
  #behind = false;
  #closeTimer: NodeJS.Timeout | undefined;
  #timer: NodeJS.Timeout | undefined;
  #relay: EventRelay = noRelay;

  constructor(id: number, context: WebSocketContext) {
    super(id, context.hub);
    this.#context = context;
    context.connections.add(this);
  }

  /** Events go to the inline handler, serially. */
  deliverInline(handler: WebSocketHandler): void {
    const serial = new SerialEvents(handler, WebSocket.of(this), (error) =>
      this.#context.log(
        'error',
        `websocket handler error on ${this.id}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      ),
    );
    this.#relay = {
      deliver: (event, message) => serial.push(event, message),
      afterEvents: (done) => serial.after(done),
      buffered: () => {},
    };
  }

  /** Events go to another thread (the worker that upgraded the connection). */
  deliverTo(relay: EventRelay): void {
    this.#relay = relay;
  }

  #deliver(event: WebSocketEvent, message: WebSocketMessage): void {
    this.#relay.deliver(event, message);
  }

  /** Performs the handshake; false when `ws` refused it (it answered 400 or 426 itself). */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    let attached = false;
    // Without verifyClient, ws completes a valid handshake synchronously; otherwise it has
    // already written its 400 (or 426) and is ending the socket.
    this.#context.wss.handleUpgrade(req, socket, head, (ws) => {
      attached = true;
      this.#socket = socket;
      this.#attach(ws);
    });
    if (!attached) {
      this.#closed = true;
      this.markEnded();
      return false;
    }
    return true;
  }

  #attach(ws: WsSocket): void {
    this.#ws = ws;
    // ws answers the peer's close frame, or a protocol error, with its own close frame at once: a
    // reply the handler makes to an event before it — on a worker thread, or after an await —
    // would find the connection closing and be dropped (Autobahn 3.2-3.4, 4.1.3-4.1.5, 4.2.3-4.2.5,
    // 5.15, 7.1.6). ws calls the instance's close() then; the server's own closes call #closeNow.
    const closeNow = ws.close.bind(ws);
    this.#closeNow = closeNow;
    ws.close = (code?: number, reason?: string | Buffer): void => this.#closeAfterEvents(code, reason);
    ws.on('message', (data, isBinary) => {
      const message: WebSocketMessage = isBinary
        ? { kind: 'binary', data: toBuffer(data) }
        : { kind: 'text', data: toBuffer(data).toString('utf8') };
      this.#deliver('message', message);
    });
    ws.on('ping', (data) => this.#deliver('message', { kind: 'ping', data }));
    ws.on('pong', () => {
      this.#alive = true;
    });
    ws.on('error', (error: Error & { code?: string }) => {
      this.#errorDelivered = true;
      const closeCode = (error as unknown as Record<symbol, number | undefined>)[statusCodeSymbol(error)] ?? 1002;
      this.#deliver('error', { kind: 'error', message: error.message, closeCode });
    });
    ws.on('close', (code, reason) => {
      // Closed before the close event runs: inside it, `closed` is true and sends return false.
      this.#closed = true;
      if (code === 1006 && !this.#errorDelivered) {
        this.#deliver('error', { kind: 'error', message: 'connection lost without a close frame', closeCode: 1006 });
      }
      this.#deliver('close', { kind: 'close', code, reason: reason.toString('utf8') });
      this.markEnded();
    });
    if (this.#context.heartbeatIntervalMs > 0) {
      // A peer that has not answered the previous ping by the next one is gone.
      this.#timer = setInterval(() => {
        if (!this.#alive) {
          this.#context.log(
            'debug',
            `websocket ${this.id}: no pong within ${this.#context.heartbeatIntervalMs} ms; terminating`,
          );
          ws.terminate();
          return;
        }
        this.#alive = false;
        ws.ping();
      }, this.#context.heartbeatIntervalMs);
      this.#timer.unref();
    }
    this.#deliver('open', undefined);
    for (const run of this.#pending.splice(0)) run();
  }

  /**
   * The peer's close frame (or a protocol error) arrived: the server's close frame goes once the
   * handler has handled the events before it, or after `closeTimeoutMs`. Replies made in the
   * meantime are sent, in order, before it.
   */
  #closeAfterEvents(code: number | undefined, reason: string | Buffer | undefined): void {
    if (this.#closeTimer !== undefined || this.#closeNow === undefined) return;
    const closeNow = this.#closeNow;
    let done = false;
    const close = (): void => {
      if (done) return;
      done = true;
      clearTimeout(this.#closeTimer);
      closeNow(code, reason);
    };
    this.#closeTimer = setTimeout(close, this.#context.closeTimeoutMs);
    // ws emits a protocol error's 'error' right after this call: the wait includes that event.
    queueMicrotask(() => this.#relay.afterEvents(close));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes queued for the peer and not yet taken by the socket. */
  get bufferedAmount(): number {
    return this.#ws?.bufferedAmount ?? 0;
  }

  send(data: string | Uint8Array, kind: MessageKind): boolean {
    if (this.#closed) return false;
    const ws = this.#ws;
    if (ws === undefined) {
      this.#pending.push(() => this.send(data, kind));
      return true;
    }
    if (ws.readyState !== ws.OPEN) return false;
    if (ws.bufferedAmount > this.#context.maxBufferedBytes) {
      this.#overflow(ws);
      return false;
    }
    try {
      this.#sendNow(ws, data, kind);
    } catch (error) {
      // The handle validates its arguments; this guards the IO thread against anything else.
      this.#context.log('error', `websocket ${this.id}: send failed: ${(error as Error).message}`);
      return false;
    }
    if (!this.#behind && ws.bufferedAmount > this.#context.maxBufferedBytes / 2) this.#fallBehind(ws);
    return true;
  }

  /** The peer is more than half of `maxBufferedBytes` behind: tell the relay now, and once it caught up. */
  #fallBehind(ws: WsSocket): void {
    const socket = this.#socket;
    if (socket === undefined) return;
    this.#behind = true;
    this.#relay.buffered(ws.bufferedAmount);
    socket.once('drain', () => {
      this.#behind = false;
      if (!this.#closed) this.#relay.buffered(0);
    });
  }

  /**
   * The peer is more than `maxBufferedBytes` behind: nothing more is queued for it, the handler
   * gets an `error` (closeCode 1008), and the closing handshake starts. A peer that reads nothing
   * never answers it: `ws` destroys the socket after `closeTimeoutMs`.
   */
  #overflow(ws: WsSocket): void {
    const behind = ws.bufferedAmount;
    const max = this.#context.maxBufferedBytes;
    this.#context.log(
      'info',
      `${new MxError('MX_ERR_CLIENT_BEHIND').message}: websocket ${this.id} is ${behind} bytes behind (maxBufferedBytes ${max}); closing it with 1008`,
    );
    this.#context.overflowed();
    this.#errorDelivered = true;
    this.#deliver('error', {
      kind: 'error',
      message: `the client is ${behind} bytes behind (maxBufferedBytes ${max})`,
      closeCode: 1008,
    });
    this.#closeNow?.(1008, 'client too slow to read');
  }

  #sendNow(ws: WsSocket, data: string | Uint8Array, kind: MessageKind): void {
    switch (kind) {
      case 'text':
        ws.send(
          typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'),
        );
        break;
      case 'binary':
        ws.send(data, { binary: true });
        break;
      case 'ping':
        ws.ping(data);
        break;
      case 'pong':
        ws.pong(data);
        break;
    }
  }

  close(code?: number, reason?: string): void {
    if (this.#closed) return;
    const ws = this.#ws;
    if (ws === undefined) {
      this.#pending.push(() => this.close(code, reason));
      return;
    }
    const closeNow = this.#closeNow!;
    try {
      closeNow(code, reason);
    } catch (error) {
      this.#context.log('error', `websocket ${this.id}: close failed: ${(error as Error).message}`);
      closeNow(1011);
    }
  }

  deliver(message: PublishedMessage): void {
    const data = message.data;
    if (typeof data === 'string') this.send(data, 'text');
    else if (data instanceof Uint8Array) this.send(data, 'binary');
    else this.send(JSON.stringify(data), 'text');
  }

  protected override release(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    clearTimeout(this.#closeTimer);
    this.#pending.length = 0;
    super.release();
    this.#context.connections.delete(this);
  }
}

/** ws keeps the close code of a protocol error under a private symbol; find it without depending on its name. */
function statusCodeSymbol(error: object): symbol {
  return Object.getOwnPropertySymbols(error).find((s) => s.description === 'status-code') ?? Symbol('none');
}
