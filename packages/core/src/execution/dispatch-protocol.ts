/**
 * The messages between the IO thread and a worker thread. Each is a small
 * array of primitives — cheaper to structured-clone than objects — and a
 * request head travels as one NUL-joined string (llhttp rejects NUL in every
 * part of a request head, so it cannot occur inside a field). Bodies are
 * transferred, not copied, whenever the bytes own their ArrayBuffer.
 *
 * Bump `protocolVersion` on any change; a worker refuses a mismatch.
 */
import type { RequestHead } from '../http/request.js';
import type { PreparedResponse } from '../http/response.js';
import type { LogLevel } from '../log/log-handler.js';

export const protocolVersion = 1;

export enum MessageType {
  /** IO → worker: [type, id, head, body | undefined] */
  Request = 1,
  /** worker → IO: [type, id, status, headers, body | undefined, settled] */
  Response = 2,
  /** worker → IO: [type, id] — the handler settled after its response went out. */
  Settled = 3,
  /** worker → IO: [type, level, message] */
  Log = 4,
  /** worker → IO: [type] once the app module is loaded. */
  Ready = 5,
  /** worker → IO: [type, message] when the app module cannot be loaded. */
  LoadFailed = 6,
}

export type RequestMessage = [MessageType.Request, number, string, Uint8Array | undefined];
export type ResponseMessage = [
  MessageType.Response,
  number,
  number,
  string[],
  string | Uint8Array | undefined,
  boolean,
];
export type SettledMessage = [MessageType.Settled, number];
export type LogMessage = [MessageType.Log, LogLevel, string];
export type ReadyMessage = [MessageType.Ready];
export type LoadFailedMessage = [MessageType.LoadFailed, string];
export type WorkerMessage = ResponseMessage | SettledMessage | LogMessage | ReadyMessage | LoadFailedMessage;

/** What a worker is started with (`workerData`). */
export interface WorkerConfig {
  protocolVersion: number;
  appUrl: string;
  compression: { thresholdBytes: number; encodings: Array<'gzip' | 'br' | 'deflate'> } | undefined;
  logLevel: LogLevel;
}

export function encodeHead(head: RequestHead): string {
  return [
    head.method,
    head.uri,
    head.httpVersion,
    head.remoteAddress,
    head.path,
    head.search,
    ...head.rawHeaders,
  ].join('\0');
}

export function decodeHead(encoded: string): RequestHead {
  const parts = encoded.split('\0');
  return {
    method: parts[0]!,
    uri: parts[1]!,
    httpVersion: parts[2] === '1.0' ? '1.0' : '1.1',
    remoteAddress: parts[3]!,
    path: parts[4]!,
    search: parts[5]!,
    rawHeaders: parts.slice(6),
  };
}

/** The ArrayBuffer to transfer with `bytes`, when the bytes are all of it. */
export function transferableOf(bytes: Uint8Array | string | undefined): ArrayBuffer | undefined {
  if (bytes === undefined || typeof bytes === 'string') return undefined;
  const buffer = bytes.buffer;
  if (!(buffer instanceof ArrayBuffer)) return undefined;
  // Small Buffers share Node's 8 KiB pool; transferring it would detach unrelated Buffers.
  return bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength ? buffer : undefined;
}

export function responseMessage(id: number, response: PreparedResponse, settled: boolean): ResponseMessage {
  return [MessageType.Response, id, response.status, response.headers, response.body, settled];
}
