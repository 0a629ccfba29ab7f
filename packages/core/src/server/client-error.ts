import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { plainResponse, refusalResponse } from '../http/response.js';
import type { LogLevel } from '../log/log-handler.js';
import { reasonPhrase } from '../node-modules.js';
import { writeRawResponse } from './upgrade-sink.js';

/** Statuses the server answers by itself, each with a one-line reason in the body. */
const clientErrorStatus: Readonly<Record<string, number>> = {
  HPE_HEADER_OVERFLOW: 431,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
  HPE_INVALID_METHOD: 501,
};

/**
 * Answers what llhttp could not parse (or a request that timed out) with the
 * right status — 400, 408, 431 or 501 — instead of Mummy's silent close, then
 * closes the connection.
 */
export function answerClientError(
  error: NodeJS.ErrnoException,
  socket: Socket,
  log: (level: LogLevel, message: string) => void,
): void {
  const code = error.code ?? '';
  // Bytes after a request that closes the connection: Node still answers that request, then closes.
  if (code === 'HPE_CLOSED_CONNECTION') return;
  if (code === 'ECONNRESET' || code === 'EPIPE' || !socket.writable) {
    socket.destroy();
    return;
  }
  let status = clientErrorStatus[code] ?? 400;
  // An unknown but well-formed method is 501 (RFC 9110 §9.1); bytes that are no method at all are 400.
  if (status === 501 && !isTokenThenSpace((error as { rawPacket?: Buffer }).rawPacket)) status = 400;
  const reason = reasonPhrase(status) ?? 'Bad Request';
  log('debug', `client error ${code} from ${socket.remoteAddress ?? '?'}: answering ${status}`);
  // Node marks a socket whose response already started; never write a second status line into it.
  const pending = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (pending?.headersSent === true) {
    socket.destroy();
    return;
  }
  writeRawResponse(socket, plainResponse(status, reason));
  socket.destroySoon();
}

function isTokenThenSpace(packet: Buffer | undefined): boolean {
  if (packet === undefined) return false;
  const text = packet.subarray(0, 32).toString('latin1');
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+ /.test(text);
}

/**
 * Without a 'connect' listener Node closes a CONNECT request's socket silently; this server
 * tunnels nothing, so CONNECT gets the 501 of any method it does not implement.
 */
export function answerConnect(socket: Socket): void {
  writeRawResponse(socket, refusalResponse(501, 'CONNECT is not supported: this server is not a proxy'));
  socket.destroySoon();
}
