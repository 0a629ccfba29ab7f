/**
 * Worker thread entry: loads the app module, then runs one request at a time
 * (Mummy's model: a handler may block its thread; the pool never hands a busy
 * worker a second request). The worker's event loop turns whenever it idles,
 * whenever a message arrives for it, and at least every few requests served
 * back to back, so timers, streams and promises a handler left behind go on.
 */
import { getPriority, setPriority } from 'node:os';
import type { Readable } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import { Request, type RequestConfig, type ResponseSink, type UpgradeOptions } from '../http/request.js';
import type { PreparedResponse } from '../http/response.js';
import { describeError } from '../log/log-handler.js';
import { setWorkerPublish } from '../pubsub/publish.js';
import type { RequestHandler } from '../router/router.js';
import type { StreamChannel } from '../sse/sse-stream.js';
import type { WebSocketChannel } from '../websocket/websocket.js';
import { loadApp } from './app-module.js';
import { markDoorbell, ringDoorbell } from './doorbell.js';
import { Mailbox } from './mailbox.js';
import { MessageType, protocolVersion, type DispatchedRequest } from './message-codec.js';
import { runHandler } from './run-handler.js';
import {
  busyTurnEvery,
  busyWaitMs,
  heartbeatIntervalMs,
  loopIsQuiet,
  maxOwedRings,
  quietTurnEvery,
  quietWaitMs,
} from './wake-policy.js';
import { WorkerChannels } from './worker-channels.js';
import type { WorkerConfig } from './worker-config.js';
import { flushPosts, log, maxHops, post } from './worker-messages.js';

const config = workerData as WorkerConfig;
const requestConfig: RequestConfig = { compression: config.compression };
const { doorbell, port, index } = config;
const mailbox = new Mailbox(config.mailbox, () => ring());
const channels = new WorkerChannels(mailbox, doorbell, requestConfig);

/**
 * Responses written without waking the IO thread yet: a worker with its next
 * request already posted (it has been answering quickly) runs it first, so
 * the IO thread wakes once for several responses instead of once each (on a
 * shared core, each wake-up would also take the CPU from this thread
 * mid-batch). No clock is read here: in a worker that serves a request now
 * and then, performance.now() costs more than the rest of the round trip.
 */
let owed = 0;

/** Set when a handler started streaming a body: the event loop turns before the worker waits. */
let loopWanted = false;

/** Tells the IO thread this worker wrote to its mailbox, now. */
function ring(): void {
  owed = 0;
  ringDoorbell(doorbell, index);
}

/**
 * Tells the IO thread a request settled: at once, or after this worker's next
 * request if one is posted (up to `maxOwedRings` owed).
 */
function ringOrOwe(): void {
  if (!mailbox.hasRequest() || ++owed >= maxOwedRings) {
    ring();
    return;
  }
  markDoorbell(doorbell, index);
}

/**
 * Holds the response while the handler runs synchronously, and after that
 * until the handler settles (a few microtask turns at most), so the common
 * cases (respond, then return; respond, then resolve) are one mailbox entry
 * and one doorbell.
 */
class WorkerSink implements ResponseSink {
  // Declared, and created by the constructor only (see Request).
  declare readonly id: number;
  declare inSyncPart: boolean;
  declare held: PreparedResponse | undefined;
  /** Set when the request was answered with a stream: its end then travels on parentPort too. */
  declare streamed: boolean;
  /** Set when the request's `signal` was read: its client is watched until the response is complete. */
  declare isWatched: boolean;

  constructor(id: number) {
    this.id = id;
    this.inSyncPart = true;
    this.held = undefined;
    this.streamed = false;
    this.isWatched = false;
  }

  upgrade(options?: UpgradeOptions): WebSocketChannel {
    this.streamed = true;
    return channels.upgrade(this.id, options);
  }

  openStream(headers: string[]): StreamChannel {
    this.streamed = true;
    return channels.openStream(this.id, headers);
  }

  sendStream(status: number, headers: string[], body: Readable | undefined): void {
    this.streamed = true;
    channels.sendStream(this.id, status, headers, body);
    // Its first chunks need the event loop: the worker turns it before waiting for a request.
    if (body !== undefined) loopWanted = true;
  }

  watchClient(onGone: () => void): void {
    this.isWatched = true;
    channels.watchClient(this.id, onGone);
  }

  bindSession(key: string): () => void {
    return channels.bindSession(key);
  }

  send(response: PreparedResponse): void {
    if (this.isWatched) channels.unwatch(this.id);
    this.held = response;
    if (!this.inSyncPart) holdUntilSettled(this);
  }
}

/**
 * Sends a response written after the handler's synchronous part once the
 * handler settles (then with its settlement, see `handle`), or after
 * `maxHops` microtask turns if it has not: a handler that goes on working
 * after it responded does not hold its client back.
 */
function holdUntilSettled(sink: WorkerSink): void {
  let hops = 0;
  const check = (): void => {
    const held = sink.held;
    if (held === undefined) return;
    if (++hops < maxHops) {
      queueMicrotask(check);
      return;
    }
    sink.held = undefined;
    putResponse(sink.id, held, false);
    ring();
  };
  queueMicrotask(check);
}

/**
 * Writes a response to the mailbox. What the handler posted before it (a log
 * line, a publish) goes first, so the IO thread has it by the time the
 * client reads the response, as when every message went at once.
 */
function putResponse(id: number, response: PreparedResponse, settled: boolean): void {
  flushPosts();
  mailbox.putResponse(id, response, settled, port);
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
    putResponse(job.id, sink.held!, true);
    ringOrOwe();
    return undefined;
  }
  if (sink.held !== undefined) holdUntilSettled(sink);
  return pending.then(() => {
    if (sink.streamed) {
      post([MessageType.Settled, job.id]);
      return;
    }
    const held = sink.held;
    if (held === undefined) {
      flushPosts();
      mailbox.putSettled(job.id);
      ring();
      return;
    }
    sink.held = undefined;
    putResponse(job.id, held, true);
    ringOrOwe();
  });
}

/** One turn of the event loop: timers, messages and promises a handler left behind run in it. */
function turnEventLoop(): Promise<void> {
  if (owed > 0) ring();
  // Every message posted so far is queued on the worker's port by now, so this turn reads it.
  mailbox.markMessagesSeen();
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Serves requests one at a time, for as long as the worker lives. Between
 * requests it waits on its mailbox without turning its event loop, and turns
 * the loop now and then (when and for how long: wake-policy.ts).
 */
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
    } else if (loopWanted) {
      loopWanted = false;
      await turnEventLoop();
      sinceTurn = 0;
    } else if (++sinceTurn % busyTurnEvery === 0 && (sinceTurn >= quietTurnEvery || !loopIsQuiet())) {
      // Whether the loop is quiet is asked where a busy one would turn: a timer a handler left
      // behind waits no longer than it would have anyway.
      await turnEventLoop();
      sinceTurn = 0;
    }
    // What the request posted on parentPort goes now: the worker may not turn its loop for a while.
    flushPosts();
    const posted = mailbox.hasRequest();
    if (owed > 0 && !posted) ring();
    if (!posted && channels.isPumping) {
      // A body being streamed needs the event loop (its reads, its producer's timers): the worker
      // waits for its next request there, not blocked in the mailbox.
      job = undefined;
      continue;
    }
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
    channels.setApp(handler, app.websocketHandler);
  } catch (error) {
    post([MessageType.LoadFailed, describeError(error)]);
    return;
  }
  // This listener also keeps the worker alive: an Atomics.waitAsync alone does not hold the event loop open.
  parentPort!.on('message', channels.onIoMessage);
  setWorkerPublish((topic, data) => post([MessageType.Publish, topic, data]));
  post([MessageType.Ready]);
  await serve(handler);
}

void main();
