/**
 * The dispatch protocol's messages and codecs: what the IO thread and a
 * worker say to each other, and how a request head and a text travel as
 * bytes. Pure: no threads, no sockets, so it is tested alone.
 *
 * Requests and responses go through a worker's mailbox in shared memory
 * (mailbox.ts); everything else (log lines, readiness, streams, WebSocket
 * traffic, session requests, publishes) goes as these messages on the
 * worker's parentPort. Bump `protocolVersion` on any change to the messages,
 * to the head codec or to the mailbox's layout: a worker checks it against
 * the IO thread's when it starts.
 */
import type { RequestHead } from '../http/request.js';
import type { PreparedResponse } from '../http/response.js';
import type { LogLevel } from '../log/log-handler.js';
import type { MessageKind, WebSocketEvent, WebSocketMessage } from '../websocket/websocket.js';

export const protocolVersion = 10;

// ── requests and responses (through the mailbox) ──────────────────────────

/** A request as the worker receives it. */
export interface DispatchedRequest {
  id: number;
  head: RequestHead;
  body: Buffer | undefined;
}

/** A response (or only the news that its handler settled) as the IO thread receives it. */
export interface ReceivedResponse {
  id: number;
  /** Undefined when the entry only says the handler settled. */
  response: PreparedResponse | undefined;
  /** The handler has settled. */
  settled: boolean;
}

/** A request or response too big for the mailbox, sent on the worker's port instead. */
export type PortRequest = [id: number, head: string, body: Uint8Array | undefined];
export type PortResponse = [id: number, status: number, headers: string[], body: string | Uint8Array | undefined];

// ── parentPort messages (worker → IO) ─────────────────────────────────────

// Streams opened on a worker travel on parentPort from the start, and so does
// the end of their request: one ordered channel, so a stream's head always
// arrives before its first event and before its request is marked settled.

export enum MessageType {
  /** [type, level, message] */
  Log = 4,
  /** [type] once the app module is loaded. */
  Ready = 5,
  /** [type, message] when the app module cannot be loaded. */
  LoadFailed = 6,
  /** [type, requestId, headers] — the request is answered with an event stream. */
  StreamOpen = 7,
  /** [type, requestId, text] */
  StreamWrite = 8,
  /** [type, requestId] — the worker ends the stream. */
  StreamEnd = 9,
  /** [type, requestId, topic] */
  Subscribe = 10,
  /** [type, requestId, topic] */
  Unsubscribe = 11,
  /** [type, topic, data] */
  Publish = 12,
  /** [type, requestId] — the handler of a request that opened a stream settled. */
  Settled = 13,
  /**
   * IO → worker: [type, requestId] — the stream or WebSocket ended, or its upgrade failed; for
   * a streamed body, the IO thread is done with its ring (a body still being read is destroyed:
   * the client left).
   */
  StreamClosed = 14,
  /** [type, requestId, protocol] — the request becomes a WebSocket; its events come back to this worker. */
  WsUpgrade = 15,
  /** [type, requestId, kind, data] */
  WsSend = 16,
  /** [type, requestId, code, reason] */
  WsClose = 17,
  /** IO → worker: [type, requestId, event, message] */
  WsEvent = 18,
  /**
   * IO → worker: [type, requestId, head, body] — a request of a session route. These skip
   * the mailbox, so a worker may hold several at once (a session's next request must reach
   * it while an earlier one still waits for something).
   */
  SessionRequest = 19,
  /** [type, requestId, status, headers, body] — the response to a session request. */
  SessionResponse = 20,
  /** [type, key] — requests for this session key go to this worker from now on. */
  SessionBind = 21,
  /** [type, key] — the session ended. */
  SessionUnbind = 22,
  /**
   * Both ways: [type, messages] — messages gathered by the sender, in order, so a burst costs one
   * message instead of one each: a worker's messages of one job (stream head, events, end,
   * settlement, WebSocket sends, logs), the IO thread's WebSocket events of one event-loop turn.
   */
  Batch = 23,
  /**
   * [type, requestId, status, headers, ring] — the request is answered with a streamed body
   * (`respondStream()`), which crosses in `ring` (shared memory; undefined for a head alone);
   * see ResponsePump.
   */
  ResponseOpen = 24,
  /** [type, requestId, offset, length] — the body's next bytes are at `offset` in its ring. */
  ResponseChunk = 25,
  /** [type, requestId, failure] — the streamed body ended; `failure` describes why it failed, if it did. */
  ResponseEnd = 26,
  /** IO → worker: [type, requestId, bytes] — writes of that many more bytes are done: their room in the ring is free. */
  ResponseCredit = 27,
  /** [type, requestId] — the request's `signal` was read: say if its client leaves. */
  WatchClient = 28,
  /** IO → worker: [type, requestId] — the client left before the response was complete. */
  ClientGone = 29,
  /**
   * IO → worker: [type, requestId] — the peer sent a close frame or broke the protocol: the
   * worker answers WsEventsHandled once its handler has handled every event sent before this,
   * and the IO thread sends its close frame after the replies those events made.
   */
  WsAwaitEvents = 30,
  /** [type, requestId] — the answer to WsAwaitEvents; the WebSocket sends before it come first. */
  WsEventsHandled = 31,
  /**
   * IO → worker: [type, requestId, bytes] — the peer has fallen more than half of
   * `maxBufferedBytes` behind (bytes queued), or has caught up (0).
   */
  WsBuffered = 32,
}

export type LogMessage = [MessageType.Log, LogLevel, string];
export type ReadyMessage = [MessageType.Ready];
export type LoadFailedMessage = [MessageType.LoadFailed, string];
export type StreamOpenMessage = [MessageType.StreamOpen, number, string[]];
export type StreamWriteMessage = [MessageType.StreamWrite, number, string];
export type StreamEndMessage = [MessageType.StreamEnd, number];
export type SubscribeMessage = [MessageType.Subscribe | MessageType.Unsubscribe, number, string];
export type PublishMessage = [MessageType.Publish, string, unknown];
export type SettledMessage = [MessageType.Settled, number];
export type WsUpgradeMessage = [MessageType.WsUpgrade, number, string | undefined];
export type SessionResponseMessage = [
  MessageType.SessionResponse,
  number,
  number,
  string[],
  string | Uint8Array | undefined,
];
export type SessionBindMessage = [MessageType.SessionBind | MessageType.SessionUnbind, string];
export type WorkerBatchMessage = [MessageType.Batch, WorkerMessage[]];
export type ResponseOpenMessage = [MessageType.ResponseOpen, number, number, string[], SharedArrayBuffer | undefined];
export type ResponseChunkMessage = [MessageType.ResponseChunk, number, number, number];
export type ResponseEndMessage = [MessageType.ResponseEnd, number, string | undefined];
export type WatchClientMessage = [MessageType.WatchClient, number];
export type WsSendMessage = [MessageType.WsSend, number, MessageKind, string | Uint8Array];
export type WsCloseMessage = [MessageType.WsClose, number, number | undefined, string | undefined];
export type WsEventMessage = [MessageType.WsEvent, number, WebSocketEvent, WebSocketMessage];
export type WsAwaitEventsMessage = [MessageType.WsAwaitEvents, number];
export type WsEventsHandledMessage = [MessageType.WsEventsHandled, number];
export type WsBufferedMessage = [MessageType.WsBuffered, number, number];
/** What the IO thread tells a worker about one of its WebSockets, gathered per event-loop turn. */
export type WsIoMessage = WsEventMessage | WsAwaitEventsMessage | WsBufferedMessage;
export type WorkerMessage =
  | LogMessage
  | ReadyMessage
  | LoadFailedMessage
  | StreamOpenMessage
  | StreamWriteMessage
  | StreamEndMessage
  | SubscribeMessage
  | PublishMessage
  | SettledMessage
  | WsUpgradeMessage
  | WsSendMessage
  | WsCloseMessage
  | SessionResponseMessage
  | SessionBindMessage
  | WsEventsHandledMessage
  | WorkerBatchMessage
  | ResponseOpenMessage
  | ResponseChunkMessage
  | ResponseEndMessage
  | WatchClientMessage;
export type StreamClosedMessage = [MessageType.StreamClosed, number];
export type SessionRequestMessage = [MessageType.SessionRequest, number, RequestHead, Uint8Array | undefined];
/** Messages from the IO thread to a worker. */
export type IoBatchMessage = [MessageType.Batch, WsIoMessage[]];
export type ResponseCreditMessage = [MessageType.ResponseCredit, number, number];
export type ClientGoneMessage = [MessageType.ClientGone, number];
export type IoMessage =
  | StreamClosedMessage
  | WsIoMessage
  | SessionRequestMessage
  | IoBatchMessage
  | ResponseCreditMessage
  | ClientGoneMessage;

/**
 * A request head as one NUL-joined string: llhttp rejects NUL everywhere in a
 * request head, so it cannot occur inside a field.
 */
export function encodeHead(head: RequestHead): string {
  return [head.method, head.uri, head.httpVersion, head.remoteAddress, head.path, head.search, ...head.rawHeaders].join(
    '\0',
  );
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

/**
 * Node's own string codecs on Buffer.prototype (`utf8Write`, `utf8Slice`),
 * present in every supported version but undocumented: `write` and
 * `toString` reach them through several layers of argument checks, which
 * cost more than the copy in a worker that serves a request now and then
 * (its code is cold on each request). The public calls stand in if they are
 * ever missing.
 */
interface NodeCodecs {
  utf8Write?: (text: string, offset: number, length: number) => number;
  utf8Slice?: (start: number, end: number) => string;
}
const codecs = Buffer.prototype as NodeCodecs;
export const writeUtf8: (bytes: Buffer, text: string, offset: number) => number =
  typeof codecs.utf8Write === 'function'
    ? (bytes, text, offset) => (bytes as NodeCodecs).utf8Write!(text, offset, bytes.length - offset)
    : (bytes, text, offset) => bytes.write(text, offset, 'utf8');
export const readUtf8: (bytes: Buffer, start: number, end: number) => string =
  typeof codecs.utf8Slice === 'function'
    ? (bytes, start, end) => (bytes as NodeCodecs).utf8Slice!(start, end)
    : (bytes, start, end) => bytes.toString('utf8', start, end);
