import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { MxError } from '../errors.js';
import type { RequestHead, ResponseSink, UpgradeOptions } from '../http/request.js';
import type { StreamChannel } from '../sse/sse-stream.js';
import type { WebSocketChannel } from '../websocket/websocket.js';
import type { EventDelivery } from '../websocket/websocket-connection.js';
import { plainResponse } from '../http/response.js';
import type { LogLevel } from '../log/log-handler.js';
import { armDoorbell, createDoorbell, doorbellIndexes, doorbellWaiting, takeRung } from './doorbell.js';
import { Mailbox, createMailboxMemory, heartbeatIntervalMs, ringDepth } from './mailbox.js';
import {
  MessageType,
  protocolVersion,
  type IoMessage,
  type WorkerMessage,
  type WsEventMessage,
} from './message-codec.js';
import type { WorkerConfig } from './worker-config.js';
import { applyTierUpFactor } from './tier-up.js';
import { transferableOf } from '../http/transferable.js';

export interface PoolOptions {
  appUrl: string;
  min: number;
  max: number;
  idleTimeoutMs: number;
  maxQueuedRequests: number;
  handlerTimeoutMs: number;
  workerNice: number;
  /** Divides V8's tier-up thresholds when the pool starts (see tier-up.ts); 1 leaves them alone. */
  tierUpFactor: number;
  compression: WorkerConfig['compression'];
  logLevel: LogLevel;
  log: (level: LogLevel, message: string) => void;
  /** Fans a worker's publish out on the IO thread. */
  publish: (topic: string, data: unknown) => void;
  /** Ids shared with the server's inline requests and streams. */
  nextId: () => number;
}

/** A sink that can also open a stream or a WebSocket under a given id, with events sent elsewhere. */
export interface PoolSink extends ResponseSink {
  openStream(headers: string[], id?: number): StreamChannel;
  upgrade(options?: UpgradeOptions, id?: number, delivery?: EventDelivery): WebSocketChannel;
  /** True once the client has closed its connection: a queued request for it is dropped. */
  clientGone(): boolean;
}

export interface PoolStats {
  /** Every worker thread of the pool: busy + idle + starting. */
  workers: number;
  busyWorkers: number;
  /** Ready and running nothing. */
  idleWorkers: number;
  /** Started and still loading the app module: they take requests once it has loaded. */
  startingWorkers: number;
  queuedRequests: number;
  workerRestarts: number;
  /**
   * How long requests waited for a worker to begin them: 0 for one that found
   * a worker free, the time in the queue (or behind another request in a
   * worker's ring) for the others. Since the pool started.
   */
  waitTime: TimeSummary;
  /**
   * From a worker beginning a request to its response (or the head of its
   * stream, or its WebSocket upgrade) reaching the IO thread. Since the pool started.
   */
  runTime: TimeSummary;
}

/** A distribution of durations, in milliseconds (microsecond resolution); all 0 while `count` is 0. */
export interface TimeSummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Records a duration in whole microseconds (a histogram takes integers from 1). */
function recordMs(histogram: RecordableHistogram, ms: number): void {
  histogram.record(Math.max(1, Math.round(ms * 1000)));
}

function summarize(histogram: RecordableHistogram): TimeSummary {
  if (histogram.count === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  const ms = (microseconds: number): number => Math.round(microseconds) / 1000;
  return {
    count: histogram.count,
    mean: ms(histogram.mean),
    p50: ms(histogram.percentile(50)),
    p90: ms(histogram.percentile(90)),
    p99: ms(histogram.percentile(99)),
    max: ms(histogram.max),
  };
}

interface Job {
  id: number;
  head: RequestHead;
  body: Buffer | undefined;
  sink: PoolSink;
  responded: boolean;
  /** Its entry in the worker's mailbox, once posted there. */
  entry: number;
  /** When the pool was given it (`performance.now()`). */
  queuedAt: number;
  /** When a worker began it (as far as the IO thread can tell); 0 before. */
  startedAt: number;
  /** Session requests only: the handler-timeout timer. */
  timer?: NodeJS.Timeout | undefined;
}

type OpenStream =
  { kind: 'sse'; channel: StreamChannel; slot: Slot } | { kind: 'websocket'; channel: WebSocketChannel; slot: Slot };

interface Slot {
  worker: Worker;
  /** The worker's bit in the doorbell, or -1 (then every doorbell looks at its mailbox). */
  index: number;
  mailbox: Mailbox;
  /** The IO thread's end of the worker's channel for oversized messages. */
  port: MessagePort;
  ready: boolean;
  /**
   * Requests posted to the worker and not finished, in order: the first runs
   * (or is about to), the others are next in line and may still be revoked.
   */
  jobs: Job[];
  /** When the first of `jobs` started, as far as the IO thread knows (performance.now()). */
  frontSince: number;
  /**
   * How long the worker's last request took, as the IO thread saw it: from
   * when it was posted (or the one before it settled) until it settled (ms).
   */
  lastServiceMs: number;
  /**
   * Requests the worker has moved past whose stream messages may still be on
   * their way (a streamed request settles on parentPort, which the mailbox may outrun).
   */
  lingering: Map<number, Job>;
  /** The handler-timeout timer of the first of `jobs`. */
  timer: NodeJS.Timeout | undefined;
  idleTimer: NodeJS.Timeout | undefined;
  /** Set once the pool has decided this worker goes away. */
  retiring: boolean;
  /** Open streams and WebSockets this worker owns. */
  streams: number;
  /** Session requests running on this worker, by request id. */
  sessionJobs: Map<number, Job>;
  /** Session requests waiting for this worker to be ready. */
  waiting: Job[];
  /** Session keys bound to this worker. */
  sessions: number;
  /** WebSocket events waiting for the end of this event-loop turn, to go as one message. */
  outbox: WsEventMessage[];
}

const workerEntry = new URL('./worker-main.js', import.meta.url);

/**
 * A worker whose requests finish within this time may be handed its next few
 * requests while it still runs one, so a single wake-up serves several.
 */
const quickServiceMs = 1;

/**
 * A quick worker's last request ran under `quickServiceMs`. Two policies
 * hang on it: a quick worker may be handed requests behind the one it runs,
 * and it is woken at the end of the event-loop turn rather than at once.
 */
function isQuick(slot: Slot): boolean {
  return slot.lastServiceMs < quickServiceMs;
}

/** Requests next in line behind a request running this long are taken back and go to the next free worker. */
const revokeAfterMs = 2;
/** Freed workers remembered for the next requests (more are found by a scan of the pool). */
const maxFreed = 256;

/**
 * Mummy's thread pool on worker_threads. Each worker runs one request at a
 * time, so a handler may block its thread without delaying requests on other
 * workers. Requests wait in one bounded FIFO queue on the IO thread; the first
 * free worker takes the oldest. A worker that answers quickly is also given
 * its next few requests in advance (up to `ringDepth` in all): under load it
 * then goes from one to the next without a wake-up in between. Those are
 * taken back if the request ahead of them turns out slow. An elastic pool
 * (`max > min`) starts a worker whenever a request waits and every worker is
 * busy, and retires workers above `min` after `idleTimeoutMs` without work.
 */
export class WorkerPool {
  readonly #options: PoolOptions;
  readonly #slots = new Set<Slot>();
  readonly #queue: Job[] = [];
  #starting = 0;
  /** Event streams opened by workers, by request id. */
  readonly #streams = new Map<number, OpenStream>();
  /** Which worker each bound session key routes to. */
  readonly #sessionOwners = new Map<string, Slot>();
  #restarts = 0;
  readonly #waitTimes = createHistogram();
  readonly #runTimes = createHistogram();
  #closing = false;
  /**
   * Set once close() has answered the queue: requests taken back from a
   * worker after that are refused, since no worker will take them.
   */
  #refusing = false;
  #loadError: string | undefined;
  #drained: (() => void) | undefined;
  /** Rung by workers after they write a response; awaited with Atomics.waitAsync. */
  readonly #doorbell: Int32Array;
  #doorbellSeen = 0;
  /** Workers by doorbell index; an index is free again once its worker's thread has exited. */
  readonly #byIndex: Array<Slot | undefined> = [];
  readonly #freeIndexes: number[] = [];
  /** Workers without a doorbell index (more threads alive at once than it has bits for). */
  readonly #unindexed = new Set<Slot>();
  #listening = false;
  /** Requests posted to a worker behind another one (not known to have started). */
  #prefetched = 0;
  #revokeTimer: NodeJS.Timeout | undefined;

  constructor(options: PoolOptions) {
    this.#options = options;
    // Retiring workers keep their index until their thread is gone: room for some of them too.
    this.#doorbell = createDoorbell(options.max + 32);
  }

  /**
   * Waits for the doorbell without blocking the IO thread. One wake-up
   * collects every response written since the last one.
   */
  #listen(): void {
    if (this.#listening) return;
    this.#listening = true;
    armDoorbell(this.#doorbell, true);
    const wait = Atomics.waitAsync(this.#doorbell, 0, this.#doorbellSeen);
    if (wait.async) void wait.value.then(this.#onDoorbell);
    else queueMicrotask(this.#onDoorbell);
  }

  readonly #onDoorbell = (): void => {
    this.#listening = false;
    armDoorbell(this.#doorbell, false);
    this.#collectAll();
    if (this.#queue.length > 0) this.#dispatchQueued();
    if (this.#queue.length > 0 || this.#anyBusy()) this.#listen();
  };

  /**
   * Quick workers are woken once per event-loop turn, after every socket that
   * was ready has been read: on a busy core, waking a worker at once hands it
   * the CPU mid-batch, and each short request then costs two context switches.
   */
  #wakeLater(slot: Slot): void {
    if (this.#toWake.includes(slot)) return;
    this.#toWake.push(slot);
    if (this.#toWake.length === 1) setImmediate(this.#wakeAll);
  }

  readonly #toWake: Slot[] = [];
  /** Workers that became free, last on top (see #freeSlot); may hold stale entries. */
  readonly #freed: Slot[] = [];
  readonly #wakeAll = (): void => {
    for (const slot of this.#toWake) slot.mailbox.wake();
    this.#toWake.length = 0;
  };

  /** Stops at the first busy worker: under load, the first one looked at. */
  #anyBusy(): boolean {
    for (const slot of this.#slots) if (slot.jobs.length > 0) return true;
    return false;
  }

  #busyCount(): number {
    let busy = 0;
    for (const slot of this.#slots) if (slot.jobs.length > 0) busy++;
    return busy;
  }

  /** Takes every response and settlement written since the doorbell last rang. */
  #collectAll(): void {
    this.#doorbellSeen = Atomics.load(this.#doorbell, 0);
    takeRung(this.#doorbell, this.#collectIndex);
    for (const slot of this.#unindexed) if (slot.jobs.length > 0) this.#collect(slot);
  }

  readonly #collectIndex = (index: number): void => {
    const slot = this.#byIndex[index];
    if (slot !== undefined && this.#slots.has(slot)) {
      if (slot.jobs.length > 0) this.#collect(slot);
      // Also rung by a worker that skipped requests taken back from it: room again in its ring.
      else if (this.#queue.length > 0) this.#next(slot);
    }
  };

  /** A free doorbell index, or -1 when every bit is taken. */
  #takeIndex(): number {
    const index = this.#freeIndexes.pop();
    if (index !== undefined) return index;
    if (this.#byIndex.length >= doorbellIndexes(this.#doorbell)) return -1;
    this.#byIndex.push(undefined);
    return this.#byIndex.length - 1;
  }

  #registerIndex(slot: Slot): void {
    if (slot.index < 0) this.#unindexed.add(slot);
    else this.#byIndex[slot.index] = slot;
  }

  /** Called once the slot's thread has exited: nothing can set its bit any more. */
  #releaseIndex(slot: Slot): void {
    this.#unindexed.delete(slot);
    if (slot.index < 0 || this.#byIndex[slot.index] !== slot) return;
    this.#byIndex[slot.index] = undefined;
    this.#freeIndexes.push(slot.index);
  }

  /**
   * Takes what a worker wrote to its mailbox: responses and settled handlers,
   * in the order its requests ran; then tops up its requests from the queue.
   */
  #collect(slot: Slot): void {
    const before = slot.jobs.length;
    for (;;) {
      const received = slot.mailbox.takeResponse(slot.port);
      if (received === undefined) break;
      const at = slot.jobs.findIndex((job) => job.id === received.id);
      if (at < 0) continue;
      // The worker runs its requests in order: those before this one have settled, and they
      // answered with a stream (whose messages travel on parentPort, maybe still on the way).
      for (let i = 0; i < at; i++) slot.lingering.set(slot.jobs[0]!.id, this.#finishFront(slot));
      const job = slot.jobs[0]!;
      if (received.response !== undefined && !job.responded) {
        this.#answered(job);
        job.sink.send(received.response);
      }
      if (received.settled) this.#finishFront(slot);
    }
    if (slot.jobs.length < before) this.#next(slot);
  }

  /** Starts `min` workers and resolves once each has loaded the app module. */
  async start(): Promise<void> {
    applyTierUpFactor(this.#options.tierUpFactor);
    const ready: Array<Promise<void>> = [];
    for (let i = 0; i < this.#options.min; i++) ready.push(this.#spawn());
    await Promise.all(ready);
  }

  dispatch(head: RequestHead, body: Buffer | undefined, sink: PoolSink): void {
    const job = this.#newJob(head, body, sink);
    let slot = this.#freeSlot();
    if (slot === undefined && Atomics.load(this.#doorbell, 0) !== this.#doorbellSeen) {
      // Workers that answered since the IO thread last looked are free: collecting now keeps
      // this request out of the queue, and keeps an elastic pool from growing for it.
      this.#collectAll();
      slot = this.#freeSlot();
    }
    if (slot !== undefined) {
      this.#post(slot, job);
      return;
    }
    // Older requests wait in the queue: this one goes behind them.
    slot = this.#queue.length === 0 ? this.#quickSlot(job) : undefined;
    if (slot !== undefined) {
      this.#post(slot, job);
      this.#grow();
      return;
    }
    if (this.#queue.length >= this.#options.maxQueuedRequests) {
      this.#options.log('info', `${new MxError('MX_ERR_QUEUE_FULL').message}: 503 for ${head.method} ${head.uri}`);
      sink.send(plainResponse(503, 'Service Unavailable: server is busy', ['Retry-After', '1']));
      return;
    }
    this.#queue.push(job);
    Atomics.store(this.#doorbell, doorbellWaiting, 1);
    this.#listen();
    this.#grow();
  }

  /**
   * An elastic pool starts a worker for each waiting request no starting
   * worker is meant for (#slots already holds the ones still starting);
   * requests whose client left do not count.
   */
  #grow(): void {
    if (this.#slots.size >= this.#options.max || this.#starting >= this.#queue.length + this.#prefetched) return;
    this.#dropAbandoned();
    if (this.#starting < this.#queue.length + this.#prefetched) {
      this.#spawn().catch((error: unknown) => this.#onSpawnError(error));
    }
  }

  /**
   * A busy worker that can take `job` next in line: one that has been
   * answering quickly, whose current request started just now, with room in
   * its ring; the one with the fewest requests first.
   */
  #quickSlot(job: Job): Slot | undefined {
    if (!Mailbox.fits(job.head, job.body)) return undefined;
    let best: Slot | undefined;
    let now = -1;
    for (const slot of this.#slots) {
      if (slot.jobs.length === 0 || slot.jobs.length >= ringDepth || !isQuick(slot)) continue;
      if (best !== undefined && slot.jobs.length >= best.jobs.length) continue;
      if (now < 0) now = performance.now();
      if (this.#canTakeNext(slot, now)) best = slot;
    }
    return best;
  }

  /** True when `slot` may be given a request to run after its current ones. */
  #canTakeNext(slot: Slot, now: number): boolean {
    return (
      slot.ready &&
      !slot.retiring &&
      slot.jobs.length < ringDepth &&
      isQuick(slot) &&
      now - slot.frontSince < quickServiceMs &&
      !slot.mailbox.eventsBusy &&
      slot.mailbox.canPost()
    );
  }

  /**
   * Runs a request of a session route: on the worker its key is bound to,
   * whatever that worker is doing, or — for a new or unknown key — on the
   * worker holding the fewest sessions. Session requests travel as messages,
   * not through the mailbox, so a worker can hold several at once.
   */
  dispatchSession(key: string | undefined, head: RequestHead, body: Buffer | undefined, sink: PoolSink): void {
    const job = this.#newJob(head, body, sink);
    let slot = key === undefined ? undefined : this.#sessionOwners.get(key);
    if (slot === undefined || slot.retiring || !this.#slots.has(slot)) slot = this.#sessionSlot();
    if (slot === undefined) {
      sink.send(plainResponse(503, 'Service Unavailable: no worker can take the session', ['Retry-After', '1']));
      return;
    }
    if (slot.idleTimer !== undefined) {
      clearTimeout(slot.idleTimer);
      slot.idleTimer = undefined;
    }
    if (!slot.ready) {
      slot.waiting.push(job);
      return;
    }
    this.#sendSession(slot, job);
  }

  /**
   * The worker for a new session: the one holding the fewest sessions, then
   * the least busy. An elastic pool starts a worker instead of putting a
   * second session on one.
   */
  #sessionSlot(): Slot | undefined {
    let best: Slot | undefined;
    let bestLoad = 0;
    for (const slot of this.#slots) {
      if (slot.retiring) continue;
      const load =
        slot.sessions * 1_000_000 +
        (slot.jobs.length === 0 ? 0 : 1_000) +
        slot.sessionJobs.size * 1_000 +
        slot.waiting.length * 1_000 +
        slot.streams;
      if (best === undefined || load < bestLoad) {
        best = slot;
        bestLoad = load;
      }
    }
    if ((best === undefined || best.sessions > 0) && this.#slots.size < this.#options.max && !this.#closing) {
      const spawned = this.#spawnSlot();
      spawned.ready.catch((error: unknown) => this.#onSpawnError(error));
      return spawned.slot;
    }
    return best;
  }

  #sendSession(slot: Slot, job: Job): void {
    slot.sessionJobs.set(job.id, job);
    this.#begin(job, performance.now());
    const body = job.body;
    job.body = undefined;
    const bytes = body === undefined ? undefined : new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    const transfer = transferableOf(bytes);
    this.#postNow(
      slot,
      [MessageType.SessionRequest, job.id, job.head, bytes],
      transfer === undefined ? [] : [transfer],
    );
    const timeoutMs = this.#options.handlerTimeoutMs;
    if (timeoutMs > 0) {
      job.timer = setTimeout(() => {
        if (job.responded) return;
        job.responded = true;
        this.#options.log(
          'error',
          `${new MxError('MX_ERR_HANDLER_TIMEOUT').message} after ${timeoutMs} ms: ${job.head.method} ${job.head.uri}; answered 503`,
        );
        job.sink.send(plainResponse(503, 'Service Unavailable: the handler timed out', ['Retry-After', '1']));
      }, timeoutMs);
      job.timer.unref();
    }
  }

  /** A WebSocket event for a worker: sent with the others of this event-loop turn. */
  #queueEvent(slot: Slot, message: WsEventMessage): void {
    if (slot.outbox.length === 0) this.#outboxes.push(slot);
    slot.outbox.push(message);
    if (this.#outboxes.length === 1 && slot.outbox.length === 1) setImmediate(this.#flushOutboxes);
  }

  readonly #outboxes: Slot[] = [];
  readonly #flushOutboxes = (): void => {
    for (const slot of this.#outboxes.splice(0)) this.#flushOutbox(slot);
  };

  #flushOutbox(slot: Slot): void {
    const messages = slot.outbox;
    if (messages.length === 0) return;
    slot.outbox = [];
    if (!this.#slots.has(slot)) return;
    if (messages.length === 1) slot.worker.postMessage(messages[0]);
    else slot.worker.postMessage([MessageType.Batch, messages]);
    slot.mailbox.messagePosted();
  }

  /** Any other message to a worker: the events queued before it go first. */
  #postNow(slot: Slot, message: IoMessage, transfer: ArrayBuffer[] = []): void {
    this.#flushOutbox(slot);
    slot.worker.postMessage(message, transfer);
    slot.mailbox.messagePosted();
  }

  #endSessionJob(slot: Slot, id: number): void {
    const job = slot.sessionJobs.get(id);
    if (job === undefined) return;
    slot.sessionJobs.delete(id);
    if (job.timer !== undefined) clearTimeout(job.timer);
    if (this.#drained !== undefined && this.#isIdle()) this.#drained();
  }

  /** The request a worker's message is about: its mailbox request or one of its session requests. */
  #jobOf(slot: Slot, id: number): Job | undefined {
    for (const job of slot.jobs) if (job.id === id) return job;
    return slot.lingering.get(id) ?? slot.sessionJobs.get(id);
  }

  /** Bound session keys, on every worker. */
  get sessionCount(): number {
    return this.#sessionOwners.size;
  }

  /** A worker that exits takes its sessions with it: their requests fail, their keys unbind. */
  #dropSessionsOf(slot: Slot, reason: string): void {
    for (const [key, owner] of this.#sessionOwners) if (owner === slot) this.#sessionOwners.delete(key);
    slot.sessions = 0;
    for (const job of [...slot.sessionJobs.values(), ...slot.waiting]) {
      if (job.timer !== undefined) clearTimeout(job.timer);
      if (!job.responded) {
        job.responded = true;
        job.sink.send(
          plainResponse(
            reason === 'closing' ? 503 : 500,
            reason === 'closing' ? 'Service Unavailable: server is shutting down' : 'Internal Server Error',
          ),
        );
      }
    }
    slot.sessionJobs.clear();
    slot.waiting.length = 0;
  }

  /**
   * A worker that can take a request now: ready, not running one, not inside
   * a WebSocket event handler; among those, the one owning the fewest streams
   * and WebSockets, so long-lived connections spread over the pool.
   */
  #freeSlot(): Slot | undefined {
    // The workers that finished a request last, newest first: no scan over the whole pool (each
    // request would look at about half of 100 workers), and the newest has the warmest caches.
    // Entries that were taken since, or left the pool, are dropped here.
    const freed = this.#freed;
    while (freed.length > 0) {
      const slot = freed.pop()!;
      if (slot.streams + slot.sessions === 0 && this.#slots.has(slot) && this.#isFree(slot)) return slot;
    }
    let best: Slot | undefined;
    for (const slot of this.#slots) {
      if (!this.#isFree(slot)) continue;
      if (best === undefined || slot.streams + slot.sessions < best.streams + best.sessions) best = slot;
      if (best.streams + best.sessions === 0) break;
    }
    return best;
  }

  /** True when `slot` can take a request now. */
  #isFree(slot: Slot): boolean {
    return slot.ready && slot.jobs.length === 0 && !slot.retiring && !slot.mailbox.eventsBusy && slot.mailbox.canPost();
  }

  /** Hands waiting requests to workers that became free without finishing a request. */
  #dispatchQueued(): void {
    while (this.#queue.length > 0) {
      const slot = this.#freeSlot();
      if (slot === undefined) break;
      this.#next(slot);
      if (slot.jobs.length === 0) break;
    }
    if (this.#queue.length === 0) Atomics.store(this.#doorbell, doorbellWaiting, 0);
  }

  /** The oldest queued request whose client is still there; the others are dropped unrun. */
  #takeQueued(): Job | undefined {
    for (;;) {
      const job = this.#queue.shift();
      if (job === undefined || !job.sink.clientGone()) return job;
    }
  }

  /** Drops queued requests whose client closed its connection: nobody would read their answer. */
  #dropAbandoned(): void {
    let kept = 0;
    for (const job of this.#queue) if (!job.sink.clientGone()) this.#queue[kept++] = job;
    this.#queue.length = kept;
  }

  #newJob(head: RequestHead, body: Buffer | undefined, sink: PoolSink): Job {
    const now = performance.now();
    return { id: this.#options.nextId(), head, body, sink, responded: false, entry: -1, queuedAt: now, startedAt: 0 };
  }

  /** A worker begins `job` now. */
  #begin(job: Job, now: number): void {
    job.startedAt = now;
    recordMs(this.#waitTimes, now - job.queuedAt);
  }

  /** A worker's response (or stream, or upgrade) for `job` has reached the IO thread. */
  #answered(job: Job): void {
    job.responded = true;
    if (job.startedAt > 0) recordMs(this.#runTimes, performance.now() - job.startedAt);
  }

  stats(): PoolStats {
    const busy = this.#busyCount();
    let starting = 0;
    for (const slot of this.#slots) if (!slot.ready) starting++;
    return {
      workers: this.#slots.size,
      busyWorkers: busy,
      idleWorkers: this.#slots.size - busy - starting,
      startingWorkers: starting,
      queuedRequests: this.#queue.length + this.#prefetched,
      workerRestarts: this.#restarts,
      waitTime: summarize(this.#waitTimes),
      runTime: summarize(this.#runTimes),
    };
  }

  /**
   * Lets running and queued requests finish for up to `deadlineMs`, answers
   * whatever is left with 503, then terminates every worker.
   */
  async close(deadlineMs: number): Promise<void> {
    this.#closing = true;
    if (!this.#isIdle()) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadlineMs);
        this.#drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.#refusing = true;
    this.#refuse(this.#queue.splice(0));
    await Promise.all([...this.#slots].map((slot) => this.#retire(slot)));
  }

  #refuse(jobs: Job[]): void {
    for (const job of jobs) {
      job.sink.send(plainResponse(503, 'Service Unavailable: server is shutting down', ['Connection', 'close']));
    }
  }

  #isIdle(): boolean {
    if (this.#queue.length > 0) return false;
    for (const slot of this.#slots) {
      if (slot.jobs.length > 0 || slot.sessionJobs.size > 0 || slot.waiting.length > 0) return false;
    }
    return true;
  }

  #spawn(): Promise<void> {
    if (this.#loadError !== undefined) return Promise.reject(new MxError('MX_ERR_APP_INVALID', this.#loadError));
    return this.#spawnSlot().ready;
  }

  #spawnSlot(): { slot: Slot; ready: Promise<void> } {
    const memory = createMailboxMemory();
    const channel = new MessageChannel();
    const index = this.#takeIndex();
    const config: WorkerConfig = {
      protocolVersion,
      appUrl: this.#options.appUrl,
      compression: this.#options.compression,
      logLevel: this.#options.logLevel,
      nice: this.#options.workerNice,
      index,
      mailbox: memory,
      doorbell: this.#doorbell,
      port: channel.port2,
    };
    let worker: Worker;
    try {
      worker = new Worker(workerEntry, { workerData: config, transferList: [channel.port2] });
    } catch (error) {
      if (index >= 0) this.#freeIndexes.push(index);
      throw error;
    }
    const slot: Slot = {
      worker,
      index,
      mailbox: new Mailbox(memory),
      port: channel.port1,
      ready: false,
      jobs: [],
      frontSince: 0,
      lastServiceMs: Infinity,
      lingering: new Map(),
      timer: undefined,
      idleTimer: undefined,
      retiring: false,
      streams: 0,
      sessionJobs: new Map(),
      waiting: [],
      sessions: 0,
      outbox: [],
    };
    this.#registerIndex(slot);
    this.#slots.add(slot);
    this.#starting++;
    const ready = new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (error?: Error): void => {
        if (settled) return;
        settled = true;
        this.#starting--;
        if (error === undefined) resolve();
        else reject(error);
      };
      worker.on('message', (message: WorkerMessage) => {
        switch (message[0]) {
          case MessageType.Ready:
            slot.ready = true;
            settle();
            for (const job of slot.waiting.splice(0)) this.#sendSession(slot, job);
            this.#next(slot);
            break;
          case MessageType.LoadFailed:
            this.#loadError = message[1];
            this.#options.log('error', `worker cannot load the app module: ${message[1]}`);
            settle(new MxError('MX_ERR_APP_INVALID', message[1]));
            this.#failQueued(500, 'Internal Server Error: the application could not be loaded');
            void this.#retire(slot);
            break;
          default:
            this.#onMessage(slot, message);
        }
      });
      worker.on('error', (error) => {
        this.#options.log('error', `worker thread error: ${error.stack ?? error.message}`);
      });
      worker.on('exit', (code) => {
        settle(new MxError('MX_ERR_WORKER_EXITED', `exit code ${code} before it was ready`));
        this.#releaseIndex(slot);
        this.#onExit(slot, code);
      });
    });
    return { slot, ready };
  }

  #onMessage(slot: Slot, message: WorkerMessage): void {
    switch (message[0]) {
      case MessageType.Log:
        this.#options.log(message[1], message[2]);
        break;
      case MessageType.StreamOpen: {
        const job = this.#jobOf(slot, message[1]);
        if (job === undefined || job.responded) break;
        this.#answered(job);
        const id = job.id;
        const channel = job.sink.openStream(message[2], id);
        this.#streams.set(id, { kind: 'sse', channel, slot });
        slot.streams++;
        channel.setOnClose(() => {
          if (this.#streams.delete(id)) slot.streams--;
          if (this.#slots.has(slot)) this.#postNow(slot, [MessageType.StreamClosed, id]);
        });
        break;
      }
      case MessageType.WsUpgrade: {
        const job = this.#jobOf(slot, message[1]);
        if (job === undefined || job.responded) break;
        this.#answered(job);
        const id = job.id;
        const notifyClosed = (): void => {
          if (this.#streams.delete(id)) slot.streams--;
          if (this.#slots.has(slot)) this.#postNow(slot, [MessageType.StreamClosed, id]);
        };
        let channel: WebSocketChannel;
        try {
          // Events go back to the worker that upgraded, where the connection's state lives.
          const protocol = message[2];
          channel = job.sink.upgrade(protocol === undefined ? undefined : { protocol }, id, (event, payload) => {
            if (this.#slots.has(slot)) this.#queueEvent(slot, [MessageType.WsEvent, id, event, payload]);
          });
        } catch (error) {
          this.#options.log('debug', `websocket upgrade refused: ${String(error)}`);
          notifyClosed();
          break;
        }
        this.#streams.set(id, { kind: 'websocket', channel, slot });
        slot.streams++;
        channel.setOnClose(notifyClosed);
        break;
      }
      case MessageType.WsSend: {
        const open = this.#streams.get(message[1]);
        if (open?.kind === 'websocket') open.channel.send(message[3], message[2]);
        break;
      }
      case MessageType.WsClose: {
        const open = this.#streams.get(message[1]);
        if (open?.kind === 'websocket') open.channel.close(message[2], message[3]);
        break;
      }
      case MessageType.StreamWrite: {
        const open = this.#streams.get(message[1]);
        if (open?.kind === 'sse') open.channel.write(message[2]);
        break;
      }
      case MessageType.StreamEnd:
        this.#streams.get(message[1])?.channel.close();
        break;
      case MessageType.Subscribe:
        this.#streams.get(message[1])?.channel.subscribe(message[2]);
        break;
      case MessageType.Unsubscribe:
        this.#streams.get(message[1])?.channel.unsubscribe(message[2]);
        break;
      case MessageType.Publish:
        this.#options.publish(message[1], message[2]);
        break;
      case MessageType.Batch:
        for (const inner of message[1]) this.#onMessage(slot, inner);
        break;
      case MessageType.Settled: {
        const id = message[1];
        // Requests before it on this worker settled first, through the mailbox: read them.
        if (slot.jobs[0] !== undefined && slot.jobs[0].id !== id && slot.jobs.some((job) => job.id === id)) {
          this.#collect(slot);
        }
        if (slot.jobs[0]?.id === id) {
          this.#finishFront(slot);
          this.#next(slot);
        } else if (!slot.lingering.delete(id)) {
          this.#endSessionJob(slot, id);
        }
        break;
      }
      case MessageType.SessionResponse: {
        const job = slot.sessionJobs.get(message[1]);
        if (job === undefined || job.responded) break;
        this.#answered(job);
        job.sink.send({ status: message[2], headers: message[3], body: message[4] });
        break;
      }
      case MessageType.SessionBind: {
        const key = message[1];
        const owner = this.#sessionOwners.get(key);
        if (owner === slot) break;
        if (owner !== undefined) owner.sessions--;
        this.#sessionOwners.set(key, slot);
        slot.sessions++;
        break;
      }
      case MessageType.SessionUnbind:
        if (this.#sessionOwners.get(message[1]) === slot) {
          this.#sessionOwners.delete(message[1]);
          slot.sessions--;
        }
        break;
      default:
        break;
    }
  }

  #ownsStreams(slot: Slot): boolean {
    return slot.streams > 0 || slot.sessions > 0 || slot.sessionJobs.size > 0;
  }

  /** Streams whose worker died end too (WebSockets with 1011); their clients reconnect. */
  #closeStreamsOf(slot: Slot): void {
    for (const open of [...this.#streams.values()]) {
      if (open.slot !== slot) continue;
      if (open.kind === 'websocket') open.channel.close(1011, 'server worker exited');
      else open.channel.close();
    }
  }

  /** Posts a request to a worker's ring: it runs once the requests before it there have settled. */
  #post(slot: Slot, job: Job): void {
    if (slot.idleTimer !== undefined) {
      clearTimeout(slot.idleTimer);
      slot.idleTimer = undefined;
    }
    job.entry = slot.mailbox.postRequest({ id: job.id, head: job.head, body: job.body }, slot.port);
    slot.jobs.push(job);
    if (slot.jobs.length === 1) this.#started(slot, performance.now());
    else {
      this.#prefetched++;
      if (this.#revokeTimer === undefined) {
        this.#revokeTimer = setTimeout(this.#revokeStale, revokeAfterMs);
        this.#revokeTimer.unref();
      }
    }
    // A worker whose last request ran long is woken at once: its request will hold it for a while
    // anyway, and the time until the end of this turn (every socket that was ready is read first)
    // would be added to the request's. Quick workers wait for the turn's end (see #wakeLater).
    if (!isQuick(slot)) slot.mailbox.wake();
    else this.#wakeLater(slot);
    this.#listen();
  }

  /** The first of the slot's requests runs from now on (as far as the IO thread can tell). */
  #started(slot: Slot, now: number): void {
    slot.frontSince = now;
    const job = slot.jobs[0]!;
    this.#begin(job, now);
    // Kept until now in case the request was revoked and had to be posted again.
    job.body = undefined;
    const timeoutMs = this.#options.handlerTimeoutMs;
    if (timeoutMs > 0) slot.timer = setTimeout(() => this.#onTimeout(slot, job), timeoutMs);
  }

  /**
   * The slot's first request settled: the next one (if any) runs now. Returns
   * the finished one.
   */
  #finishFront(slot: Slot): Job {
    if (slot.timer !== undefined) clearTimeout(slot.timer);
    slot.timer = undefined;
    const job = slot.jobs.shift()!;
    const now = performance.now();
    slot.lastServiceMs = now - slot.frontSince;
    if (slot.jobs.length > 0) {
      this.#prefetched--;
      this.#started(slot, now);
    }
    return job;
  }

  /**
   * Tops a worker up from the queue: an idle one gets the oldest request, and
   * a quick one its next few too; an idle worker with nothing to do starts its
   * idle clock.
   */
  #next(slot: Slot): void {
    if (slot.retiring || !slot.ready) return;
    let now = -1;
    while (this.#queue.length > 0 && slot.mailbox.canPost()) {
      if (slot.jobs.length > 0) {
        if (now < 0) now = performance.now();
        if (!this.#canTakeNext(slot, now) || !Mailbox.fits(this.#queue[0]!.head, this.#queue[0]!.body)) break;
      }
      const job = this.#takeQueued();
      if (job === undefined) break;
      this.#post(slot, job);
    }
    if (this.#queue.length === 0) Atomics.store(this.#doorbell, doorbellWaiting, 0);
    if (slot.jobs.length > 0) return;
    // Workers with streams or sessions are left to the scan, which prefers those without.
    if (slot.streams + slot.sessions === 0 && this.#freed.length < maxFreed) this.#freed.push(slot);
    if (this.#drained !== undefined && this.#isIdle()) {
      this.#drained();
      return;
    }
    if (this.#slots.size > this.#options.min && !this.#closing && slot.idleTimer === undefined) {
      slot.idleTimer = setTimeout(() => {
        slot.idleTimer = undefined;
        // A worker whose streams are still open keeps serving them.
        if (slot.jobs.length === 0 && this.#slots.size > this.#options.min && !this.#ownsStreams(slot)) {
          void this.#retire(slot);
        }
      }, this.#options.idleTimeoutMs);
      slot.idleTimer.unref();
    }
  }

  /**
   * Takes back the requests waiting behind one that has run for
   * `revokeAfterMs` (those the worker has not started), and hands them to
   * free workers, or queues them first in line.
   */
  readonly #revokeStale = (): void => {
    this.#revokeTimer = undefined;
    // Workers ring without waking this thread while their next request is posted: look first.
    if (Atomics.load(this.#doorbell, 0) !== this.#doorbellSeen) this.#collectAll();
    const now = performance.now();
    const revoked: Job[] = [];
    for (const slot of this.#slots) {
      if (slot.jobs.length > 1 && now - slot.frontSince >= revokeAfterMs) this.#revokeWaiting(slot, revoked);
    }
    if (revoked.length > 0) this.#requeue(revoked);
    if (this.#prefetched > 0) {
      this.#revokeTimer = setTimeout(this.#revokeStale, revokeAfterMs);
      this.#revokeTimer.unref();
    }
  };

  /** Revokes the slot's requests the worker has not taken yet, newest first, into `into`. */
  #revokeWaiting(slot: Slot, into: Job[]): void {
    // The worker takes requests in order: the ones not taken yet are the last ones.
    while (slot.jobs.length > 1) {
      const job = slot.jobs[slot.jobs.length - 1]!;
      if (!slot.mailbox.revoke(job.entry)) break;
      slot.jobs.pop();
      this.#prefetched--;
      into.push(job);
    }
  }

  /** Puts revoked requests back first in line, oldest first, and hands them out. */
  #requeue(jobs: Job[]): void {
    if (this.#refusing) {
      this.#refuse(jobs);
      return;
    }
    jobs.sort((a, b) => a.id - b.id);
    this.#queue.unshift(...jobs);
    Atomics.store(this.#doorbell, doorbellWaiting, 1);
    this.#dispatchQueued();
    this.#listen();
    this.#grow();
  }

  /**
   * A handler unsettled after `handlerTimeoutMs`: it gets a 503 if it has not
   * responded. If its worker's event loop still turns (the handler awaits
   * something, e.g. it streams), the worker is left alone and checked again
   * after another timeout; if the thread is stuck (an endless loop, a blocked
   * call), the worker is terminated and replaced.
   */
  #onTimeout(slot: Slot, job: Job): void {
    if (slot.jobs[0] !== job) return;
    const { method, uri } = job.head;
    if (!job.responded) {
      job.responded = true;
      this.#options.log(
        'error',
        `${new MxError('MX_ERR_HANDLER_TIMEOUT').message} after ${this.#options.handlerTimeoutMs} ms: ${method} ${uri}; answered 503`,
      );
      job.sink.send(plainResponse(503, 'Service Unavailable: the handler timed out', ['Retry-After', '1']));
    }
    const before = slot.mailbox.heartbeat;
    slot.timer = setTimeout(() => {
      if (slot.jobs[0] !== job) return;
      if (slot.mailbox.heartbeat !== before) {
        this.#options.log('info', `handler still pending after ${this.#options.handlerTimeoutMs} ms: ${method} ${uri}`);
        slot.timer = setTimeout(() => this.#onTimeout(slot, job), this.#options.handlerTimeoutMs);
        return;
      }
      this.#options.log(
        'error',
        `handler unsettled after ${this.#options.handlerTimeoutMs} ms and its thread is stuck: ${method} ${uri}; replacing its worker`,
      );
      this.#restarts++;
      void this.#retire(slot);
      this.#replace();
    }, 3 * heartbeatIntervalMs);
  }

  /**
   * A worker going away: the requests it has not started go back to the queue,
   * the others not answered yet get `status`.
   */
  #releaseJobs(slot: Slot, status: 500 | 503): void {
    const revoked: Job[] = [];
    this.#revokeWaiting(slot, revoked);
    this.#dropJobs(slot, status);
    if (revoked.length > 0) this.#requeue(revoked);
  }

  /** Forgets the slot's requests; those not answered yet get `status`. */
  #dropJobs(slot: Slot, status: 500 | 503): void {
    if (slot.timer !== undefined) clearTimeout(slot.timer);
    slot.timer = undefined;
    this.#prefetched -= Math.max(0, slot.jobs.length - 1);
    for (const job of slot.jobs.splice(0)) {
      if (job.responded) continue;
      job.responded = true;
      job.sink.send(
        status === 503
          ? plainResponse(503, 'Service Unavailable: server is shutting down')
          : plainResponse(500, 'Internal Server Error'),
      );
    }
    slot.lingering.clear();
  }

  #onExit(slot: Slot, code: number): void {
    // A retired worker's requests were settled by #retire.
    if (!this.#slots.delete(slot)) return;
    slot.retiring = true;
    // Responses written before the thread ended still go out; requests it never started run elsewhere.
    this.#collect(slot);
    slot.port.close();
    this.#closeStreamsOf(slot);
    this.#dropSessionsOf(slot, this.#closing ? 'closing' : 'exited');
    if (slot.idleTimer !== undefined) clearTimeout(slot.idleTimer);
    const job = slot.jobs[0];
    this.#options.log(
      'error',
      `worker thread exited (code ${code})${job === undefined ? '' : ` while handling ${job.head.method} ${job.head.uri}`}; replacing it`,
    );
    this.#releaseJobs(slot, 500);
    this.#restarts++;
    this.#replace();
  }

  /** Keeps the pool at `min` workers, or starts one for waiting work. */
  #replace(): void {
    if (this.#closing || this.#loadError !== undefined) {
      if (this.#drained !== undefined && this.#isIdle()) this.#drained();
      return;
    }
    const wanted = Math.max(this.#options.min, Math.min(this.#options.max, this.#queue.length));
    if (this.#slots.size < wanted) {
      this.#spawn().catch((error: unknown) => this.#onSpawnError(error));
    }
  }

  #onSpawnError(error: unknown): void {
    // Workers still starting when the pool closes are terminated on purpose.
    if (!this.#closing) this.#options.log('error', `cannot start worker: ${String(error)}`);
  }

  #failQueued(status: number, text: string): void {
    for (const job of this.#queue.splice(0)) job.sink.send(plainResponse(status, text));
  }

  async #retire(slot: Slot): Promise<void> {
    slot.retiring = true;
    if (slot.idleTimer !== undefined) clearTimeout(slot.idleTimer);
    this.#slots.delete(slot);
    this.#releaseJobs(slot, this.#closing ? 503 : 500);
    slot.port.close();
    this.#closeStreamsOf(slot);
    this.#dropSessionsOf(slot, this.#closing ? 'closing' : 'exited');
    await slot.worker.terminate();
  }
}
