import { MxError } from '../errors.js';

/** What a WebSocket handler is told. */
export type WebSocketEvent = 'open' | 'message' | 'error' | 'close';

export type MessageKind = 'text' | 'binary' | 'ping' | 'pong';

/** The third argument of a WebSocket handler, by event. */
export type WebSocketMessage =
  | { kind: 'text'; data: string }
  | { kind: 'binary'; data: Buffer }
  | { kind: 'ping'; data: Buffer }
  /** For `close`: the peer's close code (1005 when it sent none, 1006 when the connection dropped) and reason. */
  | { kind: 'close'; code: number; reason: string }
  /** For `error`: what went wrong; `close` follows. */
  | { kind: 'error'; message: string; closeCode: number }
  | undefined;

/**
 * Receives every event of every WebSocket. Events of one connection are
 * delivered serially — the next only after this call (and the promise it
 * returns) settled — `open` first, `close` always last, and `error` before
 * `close` when a connection ends abnormally. Different connections run in
 * parallel on different worker threads. In threaded mode a connection's
 * events run on the worker whose handler upgraded it; export the handler from
 * the app module as `websocketHandler`.
 */
export type WebSocketHandler = (
  websocket: WebSocket,
  event: WebSocketEvent,
  message: WebSocketMessage,
) => void | Promise<void>;

/** The transport under a WebSocket handle: the `ws` socket, or messages to it from a worker. */
export interface WebSocketChannel {
  readonly id: number;
  readonly closed: boolean;
  send(data: string | Uint8Array, kind: MessageKind): boolean;
  close(code?: number, reason?: string): void;
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  setOnClose(callback: () => void): void;
}

/**
 * A WebSocket connection. The handle is valid from the upgrade on — a handler
 * may send before the 101 is flushed — and calls after the connection closed
 * are ignored (they return false). `id` is stable and unique within the
 * server: use it as a Map key.
 */
export class WebSocket {
  static readonly #handles = new WeakMap<WebSocketChannel, WebSocket>();
  readonly #channel: WebSocketChannel;

  /** The one handle of a channel, so the upgrading handler and the event handler see the same object. */
  static of(channel: WebSocketChannel): WebSocket {
    let handle = WebSocket.#handles.get(channel);
    if (handle === undefined) WebSocket.#handles.set(channel, (handle = new WebSocket(channel)));
    return handle;
  }

  private constructor(channel: WebSocketChannel) {
    this.#channel = channel;
  }

  get id(): number {
    return this.#channel.id;
  }

  get closed(): boolean {
    return this.#channel.closed;
  }

  /**
   * Queues a message: `text` (the default for strings), `binary` (the default
   * for bytes), `ping` or `pong` (at most 125 bytes). Returns false when closed.
   */
  send(data: string | Uint8Array, kind?: MessageKind): boolean {
    const resolved = kind ?? (typeof data === 'string' ? 'text' : 'binary');
    checkSend(data, resolved);
    if (this.#channel.closed) return false;
    return this.#channel.send(data, resolved);
  }

  /** Starts the closing handshake after queued messages; the socket ends when the peer answers or after a timeout. */
  close(code?: number, reason?: string): void {
    checkClose(code, reason);
    if (!this.#channel.closed) this.#channel.close(code, reason);
  }

  /** Receives every `publish(topic, data)` as a message until unsubscribed or closed. */
  subscribe(topic: string): void {
    if (!this.#channel.closed) this.#channel.subscribe(topic);
  }

  unsubscribe(topic: string): void {
    if (!this.#channel.closed) this.#channel.unsubscribe(topic);
  }

  toString(): string {
    return `WebSocket ${this.id}`;
  }
}

const kinds = new Set<MessageKind>(['text', 'binary', 'ping', 'pong']);

/** Throws `MX_ERR_WS_ARGUMENT_INVALID` for what RFC 6455 does not allow on the wire. */
function checkSend(data: string | Uint8Array, kind: MessageKind): void {
  if (!kinds.has(kind)) throw new MxError('MX_ERR_WS_ARGUMENT_INVALID', `unknown message kind ${String(kind)}`);
  if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
    throw new MxError('MX_ERR_WS_ARGUMENT_INVALID', 'data must be a string or bytes');
  }
  if ((kind === 'ping' || kind === 'pong') && byteLength(data) > 125) {
    throw new MxError('MX_ERR_WS_ARGUMENT_INVALID', `${kind} payload over 125 bytes (RFC 6455 §5.5)`);
  }
}

function checkClose(code: number | undefined, reason: string | undefined): void {
  if (code !== undefined) {
    const valid =
      Number.isInteger(code) &&
      ((code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
        (code >= 3000 && code <= 4999));
    if (!valid) throw new MxError('MX_ERR_WS_ARGUMENT_INVALID', `close code ${String(code)} may not be sent`);
  }
  if (reason !== undefined) {
    if (code === undefined) throw new MxError('MX_ERR_WS_ARGUMENT_INVALID', 'a close reason needs a close code');
    if (Buffer.byteLength(reason) > 123) {
      throw new MxError('MX_ERR_WS_ARGUMENT_INVALID', 'close reason over 123 bytes (RFC 6455 §5.5)');
    }
  }
}

function byteLength(data: string | Uint8Array): number {
  return typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
}
