import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import type { WebSocketServer, WebSocket as WsSocket, RawData } from 'ws';
import { HubChannel } from '../channel/hub-channel.js';
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

/** What every WebSocket of one server shares. */
export interface WebSocketContext {
  readonly wss: WebSocketServer;
  readonly hub: TopicHub;
  readonly heartbeatIntervalMs: number;
  readonly connections: Set<WsConnection>;
  /** The inline handler (inline mode, or routes pinned inline). */
  readonly handler: WebSocketHandler | undefined;
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

/**
 * One WebSocket on the IO thread, over `ws` (framing, masking, UTF-8 and
 * close-code validation, auto-pong, fragment and size limits). Sends made
 * before the handshake completes are queued.
 */
export class WsConnection extends HubChannel implements WebSocketChannel {
  readonly #context: WebSocketContext;
  #ws: WsSocket | undefined;
  #pending: Array<() => void> = [];
  #closed = false;
  #errorDelivered = false;
  #alive = true;
  #timer: NodeJS.Timeout | undefined;
  #deliver: EventDelivery = () => {};

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
    this.#deliver = (event, message) => serial.push(event, message);
  }

  deliverTo(delivery: EventDelivery): void {
    this.#deliver = delivery;
  }

  /** Performs the handshake; false when `ws` refused it (it answered 400 or 426 itself). */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    let attached = false;
    // Without verifyClient, ws completes a valid handshake synchronously; otherwise it has
    // already written its 400 (or 426) and is ending the socket.
    this.#context.wss.handleUpgrade(req, socket, head, (ws) => {
      attached = true;
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

  get closed(): boolean {
    return this.#closed;
  }

  send(data: string | Uint8Array, kind: MessageKind): boolean {
    if (this.#closed) return false;
    const ws = this.#ws;
    if (ws === undefined) {
      this.#pending.push(() => this.send(data, kind));
      return true;
    }
    if (ws.readyState !== ws.OPEN) return false;
    try {
      this.#sendNow(ws, data, kind);
    } catch (error) {
      // The handle validates its arguments; this guards the IO thread against anything else.
      this.#context.log('error', `websocket ${this.id}: send failed: ${(error as Error).message}`);
      return false;
    }
    return true;
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
    try {
      ws.close(code, reason);
    } catch (error) {
      this.#context.log('error', `websocket ${this.id}: close failed: ${(error as Error).message}`);
      ws.close(1011);
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
    this.#pending.length = 0;
    super.release();
    this.#context.connections.delete(this);
  }
}

/** ws keeps the close code of a protocol error under a private symbol; find it without depending on its name. */
function statusCodeSymbol(error: object): symbol {
  return Object.getOwnPropertySymbols(error).find((s) => s.description === 'status-code') ?? Symbol('none');
}
