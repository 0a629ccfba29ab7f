import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { MxError } from '../errors.js';
import type { ResponseSink, UpgradeOptions } from '../http/request.js';
import { reasonPhrase } from '../node-modules.js';
import { ioThread, type IoSessions } from '../threads/session-registry.js';
import { plainResponse, type PreparedResponse } from '../http/response.js';
import type { StreamedBody } from '../http/response-stream.js';
import { pipeResponseBody, type ResponseStreams } from './response-body-pipe.js';
import type { StreamChannel } from '../sse/sse-stream.js';
import {
  WsConnection,
  setChosenProtocol,
  type EventRelay,
  type WebSocketContext,
} from '../websocket/websocket-connection.js';

export interface UpgradeContext {
  nextId(): number;
  readonly sessions: IoSessions;
  readonly responseStreams: ResponseStreams;
  readonly websockets: WebSocketContext;
  /** Checked before the 101: browsers do not apply CORS to WebSockets. */
  verifyOrigin(origin: string | undefined, req: IncomingMessage): boolean;
}

/** Writes a whole response on a raw socket and closes it (upgrade requests have no ServerResponse). */
export function writeRawResponse(socket: Duplex, response: PreparedResponse): void {
  if (!writeRawHead(socket, response.status, response.headers)) return;
  if (response.body !== undefined) socket.write(response.body);
  socket.end();
}

/**
 * Writes a response head on a raw socket, with `Connection: close` (the response ends the
 * connection, so a body without Content-Length ends with it). False when the socket is gone.
 */
function writeRawHead(socket: Duplex, status: number, headers: string[]): boolean {
  if (socket.destroyed || !socket.writable) return false;
  const lines = [`HTTP/1.1 ${status} ${reasonPhrase(status) ?? 'Unknown'}`];
  let hasDate = false;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const lower = name.toLowerCase();
    if (lower === 'connection' || lower === 'transfer-encoding') continue;
    if (lower === 'date') hasDate = true;
    lines.push(`${name}: ${headers[i + 1]!}`);
  }
  if (!hasDate) lines.push(`Date: ${new Date().toUTCString()}`);
  lines.push('Connection: close', '', '');
  socket.write(lines.join('\r\n'));
  return true;
}

/** The sink of a request that asked to upgrade: it may answer normally or become a WebSocket. */
export class UpgradeSink implements ResponseSink {
  readonly #req: IncomingMessage;
  readonly #socket: Duplex;
  readonly #head: Buffer;
  readonly #context: UpgradeContext;
  #used = false;
  /** Set once the answer is whole on the socket (or the connection became a WebSocket). */
  #isComplete = false;

  constructor(req: IncomingMessage, socket: Duplex, head: Buffer, context: UpgradeContext) {
    this.#req = req;
    this.#socket = socket;
    this.#head = head;
    this.#context = context;
  }

  send(response: PreparedResponse): void {
    if (this.#used) return;
    this.#used = true;
    this.#isComplete = true;
    writeRawResponse(this.#socket, response);
  }

  /** A streamed answer to a request that asked to upgrade: the body ends the connection. */
  sendStream(status: number, headers: string[], body: StreamedBody | undefined): void {
    const socket = this.#socket;
    if (this.#used || !writeRawHead(socket, status, headers)) {
      body?.destroy();
      return;
    }
    this.#used = true;
    if (body === undefined || this.#req.method === 'HEAD' || status === 204 || status === 304) {
      body?.destroy();
      this.#isComplete = true;
      socket.end();
      return;
    }
    pipeResponseBody(
      body,
      socket,
      undefined,
      `${this.#req.method} ${this.#req.url}`,
      () => socket.destroyed,
      this.#context.responseStreams,
      (isComplete) => (this.#isComplete = isComplete),
    );
  }

  watchClient(onGone: () => void): void {
    const socket = this.#socket;
    if (this.#isComplete) return;
    if (socket.destroyed) {
      onGone();
      return;
    }
    socket.once('close', () => {
      if (!this.#isComplete) onGone();
    });
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

  upgrade(options?: UpgradeOptions, id = this.#context.nextId(), relay?: EventRelay): WsConnection {
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
    this.#isComplete = true;
    const connection = new WsConnection(id, this.#context.websockets);
    const handler = options?.handler ?? this.#context.websockets.handler;
    if (relay !== undefined) connection.deliverTo(relay);
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
