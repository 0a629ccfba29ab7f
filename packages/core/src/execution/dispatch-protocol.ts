/**
 * The IO thread ↔ worker dispatch protocol.
 *
 * Requests and responses travel through a per-worker mailbox in shared
 * memory, not through postMessage: a worker waiting for work is woken by one
 * `Atomics.notify` on its signal word, and it rings one
 * pool-wide doorbell that the IO thread awaits with `Atomics.waitAsync`, so a
 * burst of responses costs one wake-up of the IO thread. Measured here on one
 * core, this costs about half the CPU per round trip of structured-clone
 * messages. A request or response too big for its region goes through the
 * worker's MessagePort instead (bodies transferred, not copied) and the
 * mailbox only says so; the reader takes it with `receiveMessageOnPort`.
 *
 * A mailbox holds one request and one response: the pool never gives a
 * worker a second request before its handler has settled (Mummy's model), so
 * neither side can overwrite what the other has not read yet.
 *
 * Log lines, readiness and load failures use ordinary messages on the
 * worker's parentPort. Bump `protocolVersion` on any change to this file.
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { RequestHead } from '../http/request.js';
import type { PreparedResponse } from '../http/response.js';
import type { LogLevel } from '../log/log-handler.js';
import type { MessageKind, WebSocketEvent, WebSocketMessage } from '../websocket/websocket.js';

export const protocolVersion = 5;

/** Control words (Int32 indexes) at the start of a mailbox. */
const enum Word {
  RequestSeq = 0,
  RequestId = 1,
  RequestHeadBytes = 2,
  RequestBodyBytes = 3,
  RequestViaPort = 4,
  ResponseSeq = 5,
  ResponseId = 6,
  ResponseStatus = 7,
  ResponseHeadBytes = 8,
  ResponseBodyBytes = 9,
  ResponseViaPort = 10,
  ResponseSettled = 11,
  SettledSeq = 12,
  SettledId = 13,
  /** 1 while the worker's thread runs a WebSocket event handler (it may block). */
  EventsBusy = 14,
  /** Bumped by a timer on the worker's event loop: it stops moving when the thread is stuck. */
  Heartbeat = 15,
  /** Bumped with every request and every message to the worker; the word a worker waits on. */
  Signal = 16,
  /** Counts messages posted to the worker on its parentPort. */
  MessageSeq = 17,
  /** 1 while the worker waits for a request without running its event loop. */
  SyncWaiting = 18,
}

/** How often a worker bumps its heartbeat word. */
export const heartbeatIntervalMs = 100;

const controlBytes = 128;
/** Bytes for one request (head + body) or one response in shared memory. */
export const regionBytes = 64 * 1024;
const requestOffset = controlBytes;
const responseOffset = controlBytes + regionBytes;

export function createMailboxMemory(): SharedArrayBuffer {
  return new SharedArrayBuffer(controlBytes + 2 * regionBytes);
}

/**
 * The pool's doorbell: word 0 counts rings; word 1 is non-zero while requests
 * wait for a worker, so a worker leaving a WebSocket event handler rings too;
 * the words after it are one bit per worker index, set by a worker that wrote
 * to its mailbox, so the IO thread reads only the mailboxes that changed.
 */
export function createDoorbell(workerIndexes: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * (readyWords + Math.ceil(workerIndexes / 32))));
}

export const doorbellWaiting = 1;
const readyWords = 2;

/** Worker indexes a doorbell has bits for. */
export function doorbellIndexes(doorbell: Int32Array): number {
  return (doorbell.length - readyWords) * 32;
}

/**
 * Wakes the IO thread: called by a worker after it wrote to its mailbox
 * (with its index), or to say it can take a request again (without).
 */
export function ringDoorbell(doorbell: Int32Array, index?: number): void {
  if (index !== undefined && index >= 0) Atomics.or(doorbell, readyWords + (index >> 5), 1 << (index & 31));
  Atomics.add(doorbell, 0, 1);
  Atomics.notify(doorbell, 0);
}

/**
 * Calls `visit` with the index of every worker that rang since the last call,
 * clearing their bits.
 */
export function takeRung(doorbell: Int32Array, visit: (index: number) => void): void {
  for (let word = readyWords; word < doorbell.length; word++) {
    if (Atomics.load(doorbell, word) === 0) continue;
    let bits = Atomics.exchange(doorbell, word, 0);
    const base = (word - readyWords) * 32;
    while (bits !== 0) {
      const bit = 31 - Math.clz32(bits);
      bits &= ~(1 << bit);
      visit(base + bit);
    }
  }
}

export interface DispatchedRequest {
  id: number;
  head: RequestHead;
  body: Buffer | undefined;
}

export interface ReceivedResponse {
  id: number;
  response: PreparedResponse;
  /** The handler had settled when this response was written. */
  settled: boolean;
}

type PortRequest = [id: number, head: string, body: Uint8Array | undefined];
type PortResponse = [id: number, status: number, headers: string[], body: string | Uint8Array | undefined];

/** One worker's mailbox; the IO thread and the worker each hold a view of the same memory. */
export class Mailbox {
  readonly #control: Int32Array;
  readonly #bytes: Buffer;
  /** The last sequence numbers this side has consumed. */
  #requestSeen = 0;
  #messagesSeen = 0;
  #responseSeen = 0;
  #settledSeen = 0;

  constructor(memory: SharedArrayBuffer) {
    this.#control = new Int32Array(memory, 0, controlBytes / 4);
    this.#bytes = Buffer.from(memory);
  }

  // ── IO thread side ──────────────────────────────────────────────────────

  /** Writes a request; `wake()` then wakes the worker. */
  postRequest(request: DispatchedRequest, port: MessagePort): void {
    const c = this.#control;
    const head = encodeHead(request.head);
    const headBytes = Buffer.byteLength(head);
    const body = request.body;
    const bodyBytes = body === undefined ? -1 : body.byteLength;
    c[Word.RequestId] = request.id;
    if (headBytes + Math.max(bodyBytes, 0) <= regionBytes) {
      this.#bytes.write(head, requestOffset, 'utf8');
      if (body !== undefined) body.copy(this.#bytes, requestOffset + headBytes);
      c[Word.RequestHeadBytes] = headBytes;
      c[Word.RequestBodyBytes] = bodyBytes;
      c[Word.RequestViaPort] = 0;
    } else {
      const transfer = transferableOf(body);
      const message: PortRequest = [request.id, head, body];
      port.postMessage(message, transfer === undefined ? [] : [transfer]);
      c[Word.RequestViaPort] = 1;
    }
    Atomics.add(c, Word.RequestSeq, 1);
    Atomics.add(c, Word.Signal, 1);
  }

  /** Wakes the worker if it sleeps waiting for a request. */
  wake(): void {
    Atomics.notify(this.#control, Word.Signal);
  }

  /**
   * Called after posting a message to the worker: a worker waiting for its
   * next request without running its event loop returns to the loop to read it.
   */
  messagePosted(): void {
    const c = this.#control;
    Atomics.add(c, Word.MessageSeq, 1);
    Atomics.add(c, Word.Signal, 1);
    if (Atomics.load(c, Word.SyncWaiting) === 1) Atomics.notify(c, Word.Signal);
  }

  /** The response written since the last call, if any. */
  takeResponse(port: MessagePort): ReceivedResponse | undefined {
    const c = this.#control;
    const seq = Atomics.load(c, Word.ResponseSeq);
    if (seq === this.#responseSeen) return undefined;
    this.#responseSeen = seq;
    const settled = c[Word.ResponseSettled] === 1;
    if (c[Word.ResponseViaPort] === 1) {
      const [id, status, headers, body] = receiveMessageOnPort(port)!.message as PortResponse;
      return { id, settled, response: { status, headers, body } };
    }
    const headBytes = c[Word.ResponseHeadBytes]!;
    const bodyBytes = c[Word.ResponseBodyBytes]!;
    const headers =
      headBytes === 0 ? [] : this.#bytes.toString('utf8', responseOffset, responseOffset + headBytes).split('\0');
    let body: Buffer | undefined;
    if (bodyBytes >= 0) {
      body = Buffer.allocUnsafe(bodyBytes);
      this.#bytes.copy(body, 0, responseOffset + headBytes, responseOffset + headBytes + bodyBytes);
    }
    return { id: c[Word.ResponseId]!, settled, response: { status: c[Word.ResponseStatus]!, headers, body } };
  }

  /** The id of a handler that settled after its response, if one did since the last call. */
  takeSettled(): number | undefined {
    const c = this.#control;
    const seq = Atomics.load(c, Word.SettledSeq);
    if (seq === this.#settledSeen) return undefined;
    this.#settledSeen = seq;
    return c[Word.SettledId];
  }

  /** True while the worker's thread runs a WebSocket event handler. */
  get eventsBusy(): boolean {
    return Atomics.load(this.#control, Word.EventsBusy) === 1;
  }

  /** The worker's heartbeat counter. */
  get heartbeat(): number {
    return Atomics.load(this.#control, Word.Heartbeat);
  }

  // ── worker side ─────────────────────────────────────────────────────────

  beat(): void {
    Atomics.add(this.#control, Word.Heartbeat, 1);
  }

  setEventsBusy(busy: boolean): void {
    Atomics.store(this.#control, Word.EventsBusy, busy ? 1 : 0);
  }

  /**
   * Waits up to `ms` for a request without running the event loop: a futex
   * wake-up is much cheaper than waking an event loop, and under load the next
   * request usually comes within that time. Returns undefined when the time is
   * up or a message was posted to the worker since `markMessagesSeen()` (its
   * event loop must read it first; a request that came meanwhile stays in the
   * mailbox for `nextRequest()`).
   */
  waitForRequestFor(ms: number, port: MessagePort): DispatchedRequest | undefined {
    const c = this.#control;
    Atomics.store(c, Word.SyncWaiting, 1);
    const signal = Atomics.load(c, Word.Signal);
    if (
      Atomics.load(c, Word.RequestSeq) === this.#requestSeen &&
      Atomics.load(c, Word.MessageSeq) === this.#messagesSeen
    ) {
      Atomics.wait(c, Word.Signal, signal, ms);
    }
    Atomics.store(c, Word.SyncWaiting, 0);
    // Messages first: the event loop reads them, and the request waits for it.
    if (Atomics.load(c, Word.MessageSeq) !== this.#messagesSeen) return undefined;
    return Atomics.load(c, Word.RequestSeq) === this.#requestSeen ? undefined : this.#readRequest(port);
  }

  /**
   * Called before a turn of the event loop: the messages posted so far are
   * queued on the worker's port, so that turn reads them.
   */
  markMessagesSeen(): void {
    this.#messagesSeen = Atomics.load(this.#control, Word.MessageSeq);
  }

  /** Resolves when a request arrives, leaving the event loop free meanwhile. */
  async nextRequest(port: MessagePort): Promise<DispatchedRequest> {
    const c = this.#control;
    for (;;) {
      const signal = Atomics.load(c, Word.Signal);
      if (Atomics.load(c, Word.RequestSeq) !== this.#requestSeen) break;
      const wait = Atomics.waitAsync(c, Word.Signal, signal);
      if (wait.async) await wait.value;
    }
    return this.#readRequest(port);
  }

  #readRequest(port: MessagePort): DispatchedRequest {
    const c = this.#control;
    this.#requestSeen = Atomics.load(c, Word.RequestSeq);
    if (c[Word.RequestViaPort] === 1) {
      const [id, head, body] = receiveMessageOnPort(port)!.message as PortRequest;
      return {
        id,
        head: decodeHead(head),
        body: body === undefined ? undefined : Buffer.from(body.buffer, body.byteOffset, body.byteLength),
      };
    }
    const headBytes = c[Word.RequestHeadBytes]!;
    const bodyBytes = c[Word.RequestBodyBytes]!;
    const head = decodeHead(this.#bytes.toString('utf8', requestOffset, requestOffset + headBytes));
    let body: Buffer | undefined;
    if (bodyBytes >= 0) {
      body = Buffer.allocUnsafeSlow(bodyBytes);
      this.#bytes.copy(body, 0, requestOffset + headBytes, requestOffset + headBytes + bodyBytes);
    }
    return { id: c[Word.RequestId]!, head, body };
  }

  /** Writes a response; the caller rings the doorbell. */
  putResponse(id: number, response: PreparedResponse, settled: boolean, port: MessagePort): void {
    const c = this.#control;
    const head = response.headers.join('\0');
    const headBytes = Buffer.byteLength(head);
    const body = response.body;
    const bodyBytes = body === undefined ? -1 : typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
    c[Word.ResponseId] = id;
    c[Word.ResponseSettled] = settled ? 1 : 0;
    if (headBytes + Math.max(bodyBytes, 0) <= regionBytes) {
      this.#bytes.write(head, responseOffset, 'utf8');
      if (typeof body === 'string') this.#bytes.write(body, responseOffset + headBytes, 'utf8');
      else if (body !== undefined) this.#bytes.set(body, responseOffset + headBytes);
      c[Word.ResponseStatus] = response.status;
      c[Word.ResponseHeadBytes] = headBytes;
      c[Word.ResponseBodyBytes] = bodyBytes;
      c[Word.ResponseViaPort] = 0;
    } else {
      const transfer = transferableOf(body);
      const message: PortResponse = [id, response.status, response.headers, body];
      port.postMessage(message, transfer === undefined ? [] : [transfer]);
      c[Word.ResponseViaPort] = 1;
    }
    Atomics.add(c, Word.ResponseSeq, 1);
  }

  /** Records that the handler of `id` settled after its response; the caller rings the doorbell. */
  putSettled(id: number): void {
    const c = this.#control;
    c[Word.SettledId] = id;
    Atomics.add(c, Word.SettledSeq, 1);
  }
}

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
  /** IO → worker: [type, requestId] — the stream or WebSocket ended, or its upgrade failed. */
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
   * Both ways: [type, messages] — WebSocket traffic gathered over one turn of the sender's event
   * loop, in order, so a burst costs one message instead of one per WebSocket message.
   */
  Batch = 23,
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
export type WorkerBatchMessage = [MessageType.Batch, WsSendMessage[]];
export type WsSendMessage = [MessageType.WsSend, number, MessageKind, string | Uint8Array];
export type WsCloseMessage = [MessageType.WsClose, number, number | undefined, string | undefined];
export type WsEventMessage = [MessageType.WsEvent, number, WebSocketEvent, WebSocketMessage];
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
  | WorkerBatchMessage;
export type StreamClosedMessage = [MessageType.StreamClosed, number];
export type SessionRequestMessage = [MessageType.SessionRequest, number, RequestHead, Uint8Array | undefined];
/** Messages from the IO thread to a worker. */
export type IoBatchMessage = [MessageType.Batch, WsEventMessage[]];
export type IoMessage = StreamClosedMessage | WsEventMessage | SessionRequestMessage | IoBatchMessage;

/** What a worker is started with (`workerData`). */
export interface WorkerConfig {
  protocolVersion: number;
  appUrl: string;
  compression: { thresholdBytes: number; encodings: Array<'gzip' | 'br' | 'deflate'> } | undefined;
  logLevel: LogLevel;
  /** The worker thread's nice value (Linux). */
  nice: number;
  /** This worker's bit in the doorbell; -1 when it has none (the IO thread then always looks). */
  index: number;
  mailbox: SharedArrayBuffer;
  doorbell: Int32Array;
  /** The worker's end of the channel for oversized requests and responses. */
  port: MessagePort;
}

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

/** The ArrayBuffer to transfer with `bytes`, when the bytes are all of it. */
export function transferableOf(bytes: Uint8Array | string | undefined): ArrayBuffer | undefined {
  if (bytes === undefined || typeof bytes === 'string') return undefined;
  const buffer = bytes.buffer;
  if (!(buffer instanceof ArrayBuffer)) return undefined;
  // Small Buffers share Node's 8 KiB pool; transferring it would detach unrelated Buffers.
  return bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength ? buffer : undefined;
}
