/**
 * Worker thread entry: loads the app module, then runs one request at a time
 * (Mummy's model: a handler may block its thread; the pool never hands a busy
 * worker a second request). The worker's event loop turns whenever it idles,
 * whenever a message arrives for it, and at least every few requests served
 * back to back, so timers, streams and promises a handler left behind go on.
 */
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { Request, type RequestConfig, type ResponseSink, type UpgradeOptions } from '../http/request.js';
import type { PreparedResponse } from '../http/response.js';
import { describeError, logLevelRank, type LogLevel } from '../log/log-handler.js';
import type { RequestHandler } from '../router/router.js';
import { loadApp } from './app-module.js';
import { doorbellWaiting, markDoorbell, ringDoorbell } from './doorbell.js';
import { Mailbox, heartbeatIntervalMs } from './mailbox.js';
import {
  MessageType,
  protocolVersion,
  type DispatchedRequest,
  type IoMessage,
  type WorkerMessage,
  type WsSendMessage,
} from './message-codec.js';
import type { WorkerConfig } from './worker-config.js';
import { runHandler } from './run-handler.js';
import { transferableOf } from '../http/transferable.js';
import type { StreamChannel } from '../sse/sse-stream.js';
import { SerialEvents } from '../websocket/serial-events.js';
import { WorkerWebSocketChannel, type WebSocketPort } from '../websocket/worker-websocket-channel.js';
import { WorkerStreamChannel, type StreamPort } from '../sse/worker-stream-channel.js';
import { WebSocket, type WebSocketChannel, type WebSocketHandler } from '../websocket/websocket.js';
import { setWorkerPublish } from '../pubsub/publish.js';

const parent = parentPort!;
const config = workerData as WorkerConfig;
const minLogRank = logLevelRank[config.logLevel];
const requestConfig: RequestConfig = { compression: config.compression };
const { doorbell, port, index } = config;
const mailbox = new Mailbox(config.mailbox, () => ring());

/**
 * Responses written without waking the IO thread yet: a worker with its next
 * request already posted (it has been answering quickly) runs it first, so
 * the IO thread wakes once for several responses instead of once each (on a
 * shared core, each wake-up would also take the CPU from this thread
 * mid-batch). No clock is read here: in a worker that serves a request now
 * and then, performance.now() costs more than the rest of the round trip.
 */
let owed = 0;
/** At most this many responses wait for a batch to end (the IO thread also looks every 2 ms). */
const maxOwed = 4;

/** Tells the IO thread this worker wrote to its mailbox, now. */
function ring(): void {
  owed = 0;
  ringDoorbell(doorbell, index);
}

/** Tells the IO thread a request settled: at once, or after this worker's next request if one is posted. */
function ringOrOwe(): void {
  if (!mailbox.hasRequest() || ++owed >= maxOwed) {
    ring();
    return;
  }
  markDoorbell(doorbell, index);
}

/** WebSocket sends of this turn of the event loop, to go to the IO thread as one message. */
const outbox: WsSendMessage[] = [];

function flushOutbox(): void {
  if (outbox.length === 0) return;
  const messages = outbox.splice(0);
  parent.postMessage(messages.length === 1 ? messages[0] : [MessageType.Batch, messages]);
}

function queueSend(message: WsSendMessage): void {
  outbox.push(message);
  if (outbox.length === 1) queueMicrotask(flushOutbox);
}

/** Every other message to the IO thread: the sends queued before it go first. */
function post(message: WorkerMessage, transfer: ArrayBuffer[] = []): void {
  flushOutbox();
  parent.postMessage(message, transfer);
}

function log(level: LogLevel, message: string): void {
  if (logLevelRank[level] >= minLogRank) post([MessageType.Log, level, message]);
}

/** Streams this worker opened that are still open, by request id. */
const openStreams = new Map<number, WorkerStreamChannel>();

/** Topics of streams and WebSockets alike are kept on the IO thread. */
const subscribe = (id: number, topic: string): void => post([MessageType.Subscribe, id, topic]);
const unsubscribe = (id: number, topic: string): void => post([MessageType.Unsubscribe, id, topic]);

const streamPort: StreamPort = {
  write: (id, text) => post([MessageType.StreamWrite, id, text]),
  end: (id) => post([MessageType.StreamEnd, id]),
  subscribe,
  unsubscribe,
  forget: (id) => openStreams.delete(id),
};

/**
 * Tells the pool this thread is inside a WebSocket event handler, which may
 * block it: new requests then go to other workers. On leaving, the doorbell
 * rings if requests are waiting, so the pool can hand this worker one.
 */
let busyDepth = 0;
const eventsBusy = {
  enter(): void {
    if (busyDepth++ === 0) mailbox.setEventsBusy(true);
  },
  leave(): void {
    if (--busyDepth > 0) return;
    mailbox.setEventsBusy(false);
    if (Atomics.load(doorbell, doorbellWaiting) !== 0) ringDoorbell(doorbell);
  },
};

/** WebSockets upgraded by this worker's handlers, by request id; their events run here. */
const openWebSockets = new Map<number, { channel: WorkerWebSocketChannel; events: SerialEvents | undefined }>();
let websocketHandler: WebSocketHandler | undefined;

const websocketPort: WebSocketPort = {
  send: (id, data, kind) => queueSend([MessageType.WsSend, id, kind, data]),
  close: (id, code, reason) => post([MessageType.WsClose, id, code, reason]),
  subscribe,
  unsubscribe,
  forget: (id) => openWebSockets.delete(id),
};

function onIoMessage(message: IoMessage): void {
  switch (message[0]) {
    case MessageType.StreamClosed:
      openStreams.get(message[1])?.markEnded();
      openWebSockets.get(message[1])?.channel.markEnded();
      break;
    case MessageType.Batch:
      for (const inner of message[1]) onIoMessage(inner);
      break;
    case MessageType.SessionRequest:
      handleSessionRequest(message[1], message[2], message[3]);
      break;
    case MessageType.WsEvent: {
      const entry = openWebSockets.get(message[1]);
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
  }
}

/** Asks the IO thread to complete a WebSocket handshake; the connection's events then run on this thread. */
function upgradeHere(id: number, options: UpgradeOptions | undefined): WebSocketChannel {
  post([MessageType.WsUpgrade, id, options?.protocol]);
  const channel = new WorkerWebSocketChannel(id, websocketPort);
  const handler = options?.handler ?? websocketHandler;
  const events =
    handler === undefined
      ? undefined
      : new SerialEvents(
          handler,
          WebSocket.of(channel),
          (error) => log('error', `websocket handler error on ${id}: ${describeError(error)}`),
          eventsBusy,
        );
  if (handler === undefined) log('info', 'a WebSocket was opened but the app module exports no websocketHandler');
  openWebSockets.set(id, { channel, events });
  return channel;
}

function openStreamHere(id: number, headers: string[]): StreamChannel {
  post([MessageType.StreamOpen, id, headers]);
  const channel = new WorkerStreamChannel(id, streamPort);
  openStreams.set(id, channel);
  return channel;
}

function bindSessionHere(key: string): () => void {
  post([MessageType.SessionBind, key]);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    post([MessageType.SessionUnbind, key]);
  };
}

/** The sink of a session request: everything travels on parentPort, in order with its streams and bindings. */
class SessionSink implements ResponseSink {
  readonly id: number;

  constructor(id: number) {
    this.id = id;
  }

  send(response: PreparedResponse): void {
    const body = response.body;
    const transfer = typeof body === 'string' ? undefined : transferableOf(body);
    post(
      [MessageType.SessionResponse, this.id, response.status, response.headers, body],
      transfer === undefined ? [] : [transfer],
    );
  }

  upgrade(options?: UpgradeOptions): WebSocketChannel {
    return upgradeHere(this.id, options);
  }

  openStream(headers: string[]): StreamChannel {
    return openStreamHere(this.id, headers);
  }

  bindSession(key: string): () => void {
    return bindSessionHere(key);
  }
}

let appHandler: RequestHandler | undefined;

/**
 * Runs a session request beside whatever else this worker does. While its
 * handler runs, the worker counts as busy, so the pool gives other requests
 * to other workers.
 */
function handleSessionRequest(id: number, head: DispatchedRequest['head'], bytes: Uint8Array | undefined): void {
  const body = bytes === undefined ? undefined : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const request = new Request(head, body, new SessionSink(id), requestConfig);
  eventsBusy.enter();
  const pending = runHandler(appHandler!, request, log);
  const settle = (): void => {
    eventsBusy.leave();
    post([MessageType.Settled, id]);
  };
  if (pending === undefined) settle();
  else void pending.then(settle);
}

/**
 * Holds the response while the handler runs synchronously, so the common
 * case (respond, then return) is one write and one doorbell.
 */
class WorkerSink implements ResponseSink {
  // Declared, and created by the constructor only (see Request).
  declare readonly id: number;
  declare inSyncPart: boolean;
  declare held: PreparedResponse | undefined;
  /** Set when the request was answered with a stream: its end then travels on parentPort too. */
  declare streamed: boolean;

  constructor(id: number) {
    this.id = id;
    this.inSyncPart = true;
    this.held = undefined;
    this.streamed = false;
  }

  upgrade(options?: UpgradeOptions): WebSocketChannel {
    this.streamed = true;
    return upgradeHere(this.id, options);
  }

  openStream(headers: string[]): StreamChannel {
    this.streamed = true;
    return openStreamHere(this.id, headers);
  }

  bindSession(key: string): () => void {
    return bindSessionHere(key);
  }

  send(response: PreparedResponse): void {
    if (this.inSyncPart) {
      this.held = response;
      return;
    }
    mailbox.putResponse(this.id, response, false, port);
    ring();
  }
}

/** Runs one request; resolves when its handler has settled. */
function handle(handler: RequestHandler, job: DispatchedRequest): Promise<void> | undefined {
  const sink = new WorkerSink(job.id);
  const request = new Request(job.head, job.body, sink, requestConfig);
  const pending = runHandler(handler, request, log);
  sink.inSyncPart = false;
  if (pending === undefined) {
    if (sink.streamed) {
      post([MessageType.Settled, job.id]);
      return undefined;
    }
    // runHandler answers 500 itself when a handler did not respond, so `held` is set.
    mailbox.putResponse(job.id, sink.held!, true, port);
    ringOrOwe();
    return undefined;
  }
  if (sink.held !== undefined) {
    mailbox.putResponse(job.id, sink.held, false, port);
    ring();
  }
  return pending.then(() => {
    if (sink.streamed) {
      post([MessageType.Settled, job.id]);
      return;
    }
    mailbox.putSettled(job.id);
    ring();
  });
}

/**
 * How a worker that finished a request goes on, by what its event loop holds.
 * It waits for the next request without running the loop (a message for it
 * ends the wait at once): under load the next request comes within that
 * time, and a futex wake-up costs much less than a turn of the loop (in a
 * worker that serves a request every few milliseconds, a turn costs more than
 * the rest of the request). Serving back to back, it turns the loop after
 * some requests anyway.
 *
 * - Busy: a timer, an immediate, a socket or a file operation is pending
 *   (a handler started it, or the app keeps a connection open), so the loop
 *   turns often.
 * - Quiet: nothing is pending but V8's own housekeeping and unreferenced
 *   handles, so turns can be rare.
 */
const busyWaitMs = 5;
const quietWaitMs = 50;
/** Serving back to back, a worker turns its loop every this many requests while it is busy… */
const busyTurnEvery = 8;
/** …and every this many while it is quiet (a multiple of `busyTurnEvery`). */
const quietTurnEvery = 64;

/**
 * True when the event loop holds nothing of the app's: the only active
 * resource is the parentPort listener this module adds. Node versions without
 * `getActiveResourcesInfo` always count as busy.
 */
function loopIsQuiet(): boolean {
  if (typeof process.getActiveResourcesInfo !== 'function') return false;
  const resources = process.getActiveResourcesInfo();
  return resources.length === 1 && resources[0] === 'MessagePort';
}

/** One turn of the event loop: timers, messages and promises a handler left behind run in it. */
function turnEventLoop(): Promise<void> {
  if (owed > 0) ring();
  // Every message posted so far is queued on the worker's port by now, so this turn reads it.
  mailbox.markMessagesSeen();
  return new Promise((resolve) => setImmediate(resolve));
}

async function serve(handler: RequestHandler): Promise<void> {
  let job: DispatchedRequest | undefined;
  let sinceTurn = 0;
  for (;;) {
    if (job === undefined) {
      await turnEventLoop();
      job = await mailbox.nextRequest(port);
      sinceTurn = 0;
    }
    const pending = handle(handler, job);
    if (pending !== undefined) {
      // Only while a handler is pending does the heartbeat run: it lets the pool tell a handler
      // that awaits something (the event loop turns) from a stuck thread, and idle workers stay
      // asleep.
      const heartbeat = setInterval(() => mailbox.beat(), heartbeatIntervalMs);
      try {
        await pending;
      } finally {
        clearInterval(heartbeat);
      }
      sinceTurn = 0;
    } else if (++sinceTurn % busyTurnEvery === 0 && (sinceTurn >= quietTurnEvery || !loopIsQuiet())) {
      // Whether the loop is quiet is asked where a busy one would turn: a timer a handler left
      // behind waits no longer than it would have anyway.
      await turnEventLoop();
      sinceTurn = 0;
    }
    const posted = mailbox.hasRequest();
    if (owed > 0 && !posted) ring();
    // With the next request already posted the wait ends at once. Otherwise the worker sleeps the
    // busy wait, and only if no request came by then does it ask what its loop holds: a quiet loop
    // sleeps on, up to the quiet wait in all (asking costs more than the rest of a fast request).
    job = mailbox.waitForRequestFor(posted ? 0 : busyWaitMs, port);
    if (job === undefined && !posted && loopIsQuiet()) job = mailbox.waitForRequestFor(quietWaitMs - busyWaitMs, port);
  }
}

async function main(): Promise<void> {
  if (config.protocolVersion !== protocolVersion) {
    post([
      MessageType.LoadFailed,
      `dispatch protocol mismatch: IO thread ${config.protocolVersion}, worker ${protocolVersion}`,
    ]);
    return;
  }
  // On Linux a nice value belongs to a thread, and setpriority(0) means the calling one: this
  // lowers the worker only, never the IO thread (elsewhere it would apply to the whole process).
  // A thread that is already nicer keeps its value: without privileges it could not go back.
  if (config.nice > 0 && process.platform === 'linux') {
    try {
      if (getPriority(0) < config.nice) setPriority(0, config.nice);
    } catch (error) {
      log('info', `cannot lower the worker thread's priority: ${describeError(error)}`);
    }
  }
  let handler: RequestHandler;
  try {
    const app = await loadApp(config.appUrl);
    handler = app.handler;
    appHandler = handler;
    websocketHandler = app.websocketHandler;
  } catch (error) {
    post([MessageType.LoadFailed, describeError(error)]);
    return;
  }
  // This listener also keeps the worker alive: an Atomics.waitAsync alone does not hold the event loop open.
  parent.on('message', onIoMessage);
  setWorkerPublish((topic, data) => post([MessageType.Publish, topic, data]));
  post([MessageType.Ready]);
  await serve(handler);
}

void main();
