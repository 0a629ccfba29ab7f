import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { MxError } from '../errors.js';
import type { ResponseSink, UpgradeOptions } from '../http/request.js';
import { ioThread, type IoSessions } from '../threads/session-registry.js';
import { plainResponse, type PreparedResponse } from '../http/response.js';
import type { StreamChannel } from '../sse/sse-stream.js';
import {
  WsConnection,
  setChosenProtocol,
  type EventDelivery,
  type WebSocketContext,
} from '../websocket/websocket-connection.js';

export interface UpgradeContext {
  nextId(): number;
  readonly sessions: IoSessions;
  readonly websockets: WebSocketContext;
  /** Checked before the 101: browsers do not apply CORS to WebSockets. */
  verifyOrigin(origin: string | undefined, req: IncomingMessage): boolean;
}

/** Writes a whole response on a raw socket and closes it (upgrade requests have no ServerResponse). */
export function writeRawResponse(socket: Duplex, response: PreparedResponse): void {
  if (socket.destroyed || !socket.writable) return;
  const lines = [`HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? 'Unknown'}`];
  let hasDate = false;
  const headers = response.headers;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const lower = name.toLowerCase();
    if (lower === 'connection') continue;
    if (lower === 'date') hasDate = true;
    lines.push(`${name}: ${headers[i + 1]!}`);
  }
  if (!hasDate) lines.push(`Date: ${new Date().toUTCString()}`);
  lines.push('Connection: close', '', '');
  socket.write(lines.join('\r\n'));
  if (response.body !== undefined) socket.write(response.body);
  socket.end();
}

/** The sink of a request that asked to upgrade: it may answer normally or become a WebSocket. */
export class UpgradeSink implements ResponseSink {
  readonly #req: IncomingMessage;
  readonly #socket: Duplex;
  readonly #head: Buffer;
  readonly #context: UpgradeContext;
  #used = false;

  constructor(req: IncomingMessage, socket: Duplex, head: Buffer, context: UpgradeContext) {
    this.#req = req;
    this.#socket = socket;
    this.#head = head;
    this.#context = context;
  }

  send(response: PreparedResponse): void {
    if (this.#used) return;
    this.#used = true;
    writeRawResponse(this.#socket, response);
  }

  /** The client closed its connection before an answer. */
  clientGone(): boolean {
    return this.#socket.destroyed;
  }

  openStream(): StreamChannel {
    this.send(plainResponse(400, 'Bad Request: an upgrade request cannot be answered with an event stream'));
    throw new MxError('MX_ERR_UPGRADE_INVALID', 'respondSSE() on an upgrade request', { status: 400 });
  }

  bindSession(key: string): () => void {
    return this.#context.sessions.hold(key, ioThread);
  }

  upgrade(options?: UpgradeOptions, id = this.#context.nextId(), delivery?: EventDelivery): WsConnection {
    const req = this.#req;
    const upgrade = req.headers.upgrade;
    if (upgrade === undefined || upgrade.toLowerCase() !== 'websocket') {
      this.send(
        plainResponse(426, 'Upgrade Required: this resource needs a WebSocket upgrade', ['Upgrade', 'websocket']),
      );
      throw new MxError('MX_ERR_UPGRADE_REQUIRED', `Upgrade: ${upgrade ?? '(none)'}`, { status: 426 });
    }
    if (!this.#context.verifyOrigin(req.headers.origin, req)) {
      this.send(plainResponse(403, `Forbidden: origin ${req.headers.origin ?? '(none)'} is not allowed`));
      throw new MxError('MX_ERR_ORIGIN_FORBIDDEN', req.headers.origin ?? '(none)', { status: 403 });
    }
    this.#used = true;
    const connection = new WsConnection(id, this.#context.websockets);
    const handler = options?.handler ?? this.#context.websockets.handler;
    if (delivery !== undefined) connection.deliverTo(delivery);
    else if (handler !== undefined) connection.deliverInline(handler);
    if (options?.protocol !== undefined) setChosenProtocol(req, options.protocol);
    if (!connection.accept(req, this.#socket, this.#head)) {
      throw new MxError('MX_ERR_UPGRADE_INVALID', 'the WebSocket handshake headers are not valid', { status: 400 });
    }
    return connection;
  }
}

/** A request without `Upgrade` (it came through the normal request path) cannot become a WebSocket. */
export function upgradeRequired(send: (response: PreparedResponse) => void): never {
  send(
    plainResponse(426, 'Upgrade Required: this resource needs a WebSocket upgrade', [
      'Upgrade',
      'websocket',
      'Connection',
      'Upgrade',
    ]),
  );
  throw new MxError('MX_ERR_UPGRADE_REQUIRED', 'the request did not ask to upgrade', { status: 426 });
}
