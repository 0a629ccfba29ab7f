import { MxError } from '../errors.js';
import type { RequestHead } from '../http/request.js';
import { plainResponse } from '../http/response.js';
import { armDoorbell, doorbellWaiting, takeRung } from './doorbell.js';
import { newJob, type Job, type PoolSink } from './job.js';
import { Mailbox, ringDepth } from './mailbox.js';
import type { WorkerMessage } from './message-codec.js';
import { RequestTimes } from './pool-stats.js';
import { SessionRouting } from './session-routing.js';
import type { Slot } from './slot.js';
import { StreamRelay } from './stream-relay.js';
import { WorkerWakes, isQuick, revokeAfterMs } from './wake-policy.js';
import { WorkerSlots, type WorkerSlotsOptions } from './worker-slots.js';

export interface PoolOptions extends WorkerSlotsOptions {
  idleTimeoutMs: number;
  maxQueuedRequests: number;
  handlerTimeoutMs: number;
  /** Fans a worker's publish out on the IO thread. */
  publish: (topic: string, data: unknown) => void;
  /** Ids shared with the server's inline requests and streams. */
  nextId: () => number;
}

/** Freed workers remembered for the next requests (more are found by a scan of the pool). */
const maxFreed = 256;

/**
 * The pool's scheduler: which worker runs each request, and when. Each worker
 * runs one request at a time, so a handler may block its thread without
 * delaying requests on other workers. Requests wait in one bounded FIFO queue
 * on the IO thread; the first free worker takes the oldest. A worker that
 * answers quickly is also given its next few requests in advance (up to
 * `ringDepth` in all): under load it then goes from one to the next without a
 * wake-up in between. Those are taken back if the request ahead of them turns
 * out slow. An elastic pool (`max > min`) starts a worker whenever a request
 * waits and every worker is busy, and retires workers above `min` after
 * `idleTimeoutMs` without work. Responses come back through each worker's
 * mailbox, collected once per ring of the doorbell.
 *
 * WorkerPool (worker-pool.ts) builds on it: what workers say on their
 * parentPort, session requests, stats and closing. When threads wake each
 * other is decided in wake-policy.ts.
 */
export abstract class Scheduler {
  protected readonly options: PoolOptions;
  protected readonly workers: WorkerSlots;
  /** The workers (WorkerSlots keeps the set; the doorbell's index tables too, read here on every ring). */
  protected readonly slots: Set<Slot>;
  protected readonly queue: Job[] = [];
  protected readonly relay: StreamRelay;
  protected readonly sessions: SessionRouting;
  protected readonly times = new RequestTimes();
  /** Requests posted to a worker behind another one (not known to have started). */
  protected prefetched = 0;
  /**
   * Set once close() has answered the queue: requests taken back from a
   * worker after that are refused, since no worker will take them.
   */
  protected refusing = false;
  protected drained: (() => void) | undefined;
  readonly #doorbell: Int32Array;
  readonly #byIndex: Array<Slot | undefined>;
  readonly #unindexed: Set<Slot>;
  readonly #wakes = new WorkerWakes();
  #doorbellSeen = 0;
  #listening = false;
  #revokeTimer: NodeJS.Timeout | undefined;
  /** Workers that became free, last on top (see #freeSlot); may hold stale entries. */
  readonly #freed: Slot[] = [];

  constructor(options: PoolOptions) {
    this.options = options;
    this.relay = new StreamRelay((message) => options.log('debug', message));
    this.workers = new WorkerSlots(options, {
      ready: (slot) => {
        this.sessions.sendWaiting(slot);
        this.next(slot);
      },
      message: (slot, message) => this.onMessage(slot, message),
      failQueued: (status, text) => {
        for (const job of this.queue.splice(0)) job.sink.send(plainResponse(status, text));
      },
      collect: (slot) => this.collect(slot),
      releaseJobs: (slot, status) => this.releaseJobs(slot, status),
      closeStreamsOf: (slot) => this.relay.closeStreamsOf(slot),
      dropSessionsOf: (slot, reason) => this.sessions.dropSessionsOf(slot, reason),
      queuedRequests: () => this.queue.length,
      checkDrained: () => this.checkDrained(),
    });
    this.slots = this.workers.slots;
    this.#doorbell = this.workers.doorbell;
    this.#byIndex = this.workers.byIndex;
    this.#unindexed = this.workers.unindexed;
    this.sessions = new SessionRouting({
      slots: this.slots,
      times: this.times,
      handlerTimeoutMs: options.handlerTimeoutMs,
      log: options.log,
      spawnForSession: () => this.#spawnForSession(),
      settled: () => this.checkDrained(),
    });
  }

  /** A message a worker posted on its parentPort. */
  protected abstract onMessage(slot: Slot, message: WorkerMessage): void;

  /** The handler of the slot's first request has not settled after `handlerTimeoutMs`. */
  protected abstract onTimeout(slot: Slot, job: Job): void;

  /** A worker leaves: requests it has not started go back to the queue, the others get `status`. */
  protected abstract releaseJobs(slot: Slot, status: 500 | 503): void;

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
    if (this.queue.length > 0) this.#dispatchQueued();
    if (this.queue.length > 0 || this.#anyBusy()) this.#listen();
  };

  /** Stops at the first busy worker: under load, the first one looked at. */
  #anyBusy(): boolean {
    for (const slot of this.slots) if (slot.jobs.length > 0) return true;
    return false;
  }

  /** Takes every response and settlement written since the doorbell last rang. */
  #collectAll(): void {
    this.#doorbellSeen = Atomics.load(this.#doorbell, 0);
    takeRung(this.#doorbell, this.#collectIndex);
    for (const slot of this.#unindexed) if (slot.jobs.length > 0) this.collect(slot);
  }

  readonly #collectIndex = (index: number): void => {
    const slot = this.#byIndex[index];
    if (slot !== undefined && this.slots.has(slot)) {
      if (slot.jobs.length > 0) this.collect(slot);
      // Also rung by a worker that skipped requests taken back from it: room again in its ring.
      else if (this.queue.length > 0) this.next(slot);
    }
  };

  /**
   * Takes what a worker wrote to its mailbox: responses and settled handlers,
   * in the order its requests ran; then tops up its requests from the queue.
   */
  protected collect(slot: Slot): void {
    const before = slot.jobs.length;
    for (;;) {
      const received = slot.mailbox.takeResponse(slot.port);
      if (received === undefined) break;
      const at = slot.jobs.findIndex((job) => job.id === received.id);
      if (at < 0) continue;
      // The worker runs its requests in order: those before this one have settled, and they
      // answered with a stream (whose messages travel on parentPort, maybe still on the way).
      for (let i = 0; i < at; i++) slot.lingering.set(slot.jobs[0]!.id, this.finishFront(slot));
      const job = slot.jobs[0]!;
      if (received.response !== undefined && !job.responded) {
        this.times.answered(job);
        job.sink.send(received.response);
      }
      if (received.settled) this.finishFront(slot);
    }
    if (slot.jobs.length < before) this.next(slot);
  }

  dispatch(head: RequestHead, body: Buffer | undefined, sink: PoolSink): void {
    const job = newJob(this.options.nextId(), head, body, sink);
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
    slot = this.queue.length === 0 ? this.#quickSlot(job) : undefined;
    if (slot !== undefined) {
      this.#post(slot, job);
      this.#grow();
      return;
    }
    if (this.queue.length >= this.options.maxQueuedRequests) {
      this.options.log('info', `${new MxError('MX_ERR_QUEUE_FULL').message}: 503 for ${head.method} ${head.uri}`);
      sink.send(plainResponse(503, 'Service Unavailable: server is busy', ['Retry-After', '1']));
      return;
    }
    this.queue.push(job);
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
    const workers = this.workers;
    if (this.slots.size >= this.options.max || workers.starting >= this.queue.length + this.prefetched) return;
    this.#dropAbandoned();
    if (workers.starting < this.queue.length + this.prefetched) workers.spawn();
  }

  /** A worker for a new session, started now; undefined when the pool is at `max` or closing. */
  #spawnForSession(): Slot | undefined {
    const workers = this.workers;
    if (this.slots.size >= this.options.max || workers.closing) return undefined;
    const spawned = workers.spawnSlot();
    spawned.ready.catch((error: unknown) => workers.onSpawnError(error));
    return spawned.slot;
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
    for (const slot of this.slots) {
      if (slot.jobs.length === 0 || slot.jobs.length >= ringDepth || !isQuick(slot.lastServiceMs)) continue;
      if (best !== undefined && slot.jobs.length >= best.jobs.length) continue;
      if (now < 0) now = performance.now();
      if (slot.canTakeNext(now)) best = slot;
    }
    return best;
  }

  /** Posts a request to a worker's ring: it runs once the requests before it there have settled. */
  #post(slot: Slot, job: Job): void {
    slot.clearIdleTimer();
    job.entry = slot.mailbox.postRequest({ id: job.id, head: job.head, body: job.body }, slot.port);
    slot.jobs.push(job);
    if (slot.jobs.length === 1) this.#started(slot, performance.now());
    else {
      this.prefetched++;
      if (this.#revokeTimer === undefined) {
        this.#revokeTimer = setTimeout(this.#revokeStale, revokeAfterMs);
        this.#revokeTimer.unref();
      }
    }
    this.#wakes.wake(slot.mailbox, slot.lastServiceMs);
    this.#listen();
  }

  /** The first of the slot's requests runs from now on (as far as the IO thread can tell). */
  #started(slot: Slot, now: number): void {
    slot.frontSince = now;
    const job = slot.jobs[0]!;
    this.times.begin(job, now);
    // Kept until now in case the request was revoked and had to be posted again.
    job.body = undefined;
    const timeoutMs = this.options.handlerTimeoutMs;
    if (timeoutMs > 0) slot.timer = setTimeout(() => this.onTimeout(slot, job), timeoutMs);
  }

  /**
   * The slot's first request settled: the next one (if any) runs now. Returns
   * the finished one.
   */
  protected finishFront(slot: Slot): Job {
    if (slot.timer !== undefined) clearTimeout(slot.timer);
    slot.timer = undefined;
    const job = slot.jobs.shift()!;
    const now = performance.now();
    slot.lastServiceMs = now - slot.frontSince;
    if (slot.jobs.length > 0) {
      this.prefetched--;
      this.#started(slot, now);
    }
    return job;
  }

  /**
   * Tops a worker up from the queue: an idle one gets the oldest request, and
   * a quick one its next few too; an idle worker with nothing to do starts its
   * idle clock.
   */
  protected next(slot: Slot): void {
    if (slot.retiring || !slot.ready) return;
    let now = -1;
    while (this.queue.length > 0 && slot.mailbox.canPost()) {
      if (slot.jobs.length > 0) {
        if (now < 0) now = performance.now();
        if (!slot.canTakeNext(now) || !Mailbox.fits(this.queue[0]!.head, this.queue[0]!.body)) break;
      }
      const job = this.#takeQueued();
      if (job === undefined) break;
      this.#post(slot, job);
    }
    if (this.queue.length === 0) Atomics.store(this.#doorbell, doorbellWaiting, 0);
    if (slot.jobs.length > 0) return;
    // Workers with streams or sessions are left to the scan, which prefers those without.
    if (slot.streams + slot.sessions === 0 && this.#freed.length < maxFreed) this.#freed.push(slot);
    if (this.drained !== undefined && this.isIdle()) {
      this.drained();
      return;
    }
    const workers = this.workers;
    if (this.slots.size > this.options.min && !workers.closing && slot.idleTimer === undefined) {
      slot.idleTimer = setTimeout(() => {
        slot.idleTimer = undefined;
        // A worker whose streams are still open keeps serving them.
        if (slot.jobs.length === 0 && this.slots.size > this.options.min && !slot.ownsStreams()) {
          void workers.retire(slot);
        }
      }, this.options.idleTimeoutMs);
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
    for (const slot of this.slots) {
      if (slot.jobs.length > 1 && now - slot.frontSince >= revokeAfterMs) this.revokeWaiting(slot, revoked);
    }
    if (revoked.length > 0) this.requeue(revoked);
    if (this.prefetched > 0) {
      this.#revokeTimer = setTimeout(this.#revokeStale, revokeAfterMs);
      this.#revokeTimer.unref();
    }
  };

  /** Revokes the slot's requests the worker has not taken yet, newest first, into `into`. */
  protected revokeWaiting(slot: Slot, into: Job[]): void {
    // The worker takes requests in order: the ones not taken yet are the last ones.
    while (slot.jobs.length > 1) {
      const job = slot.jobs[slot.jobs.length - 1]!;
      if (!slot.mailbox.revoke(job.entry)) break;
      slot.jobs.pop();
      this.prefetched--;
      into.push(job);
    }
  }

  /** Puts revoked requests back first in line, oldest first, and hands them out. */
  protected requeue(jobs: Job[]): void {
    if (this.refusing) {
      this.refuse(jobs);
      return;
    }
    jobs.sort((a, b) => a.id - b.id);
    this.queue.unshift(...jobs);
    Atomics.store(this.#doorbell, doorbellWaiting, 1);
    this.#dispatchQueued();
    this.#listen();
    this.#grow();
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
      if (slot.streams + slot.sessions === 0 && this.slots.has(slot) && slot.isFree()) return slot;
    }
    let best: Slot | undefined;
    for (const slot of this.slots) {
      if (!slot.isFree()) continue;
      if (best === undefined || slot.streams + slot.sessions < best.streams + best.sessions) best = slot;
      if (best.streams + best.sessions === 0) break;
    }
    return best;
  }

  /** Hands waiting requests to workers that became free without finishing a request. */
  #dispatchQueued(): void {
    while (this.queue.length > 0) {
      const slot = this.#freeSlot();
      if (slot === undefined) break;
      this.next(slot);
      if (slot.jobs.length === 0) break;
    }
    if (this.queue.length === 0) Atomics.store(this.#doorbell, doorbellWaiting, 0);
  }

  /** The oldest queued request whose client is still there; the others are dropped unrun. */
  #takeQueued(): Job | undefined {
    for (;;) {
      const job = this.queue.shift();
      if (job === undefined || !job.sink.clientGone()) return job;
    }
  }

  /** Drops queued requests whose client closed its connection: nobody would read their answer. */
  #dropAbandoned(): void {
    let kept = 0;
    for (const job of this.queue) if (!job.sink.clientGone()) this.queue[kept++] = job;
    this.queue.length = kept;
  }

  protected refuse(jobs: Job[]): void {
    for (const job of jobs) {
      job.sink.send(plainResponse(503, 'Service Unavailable: server is shutting down', ['Connection', 'close']));
    }
  }

  /** A closing pool whose requests have all finished stops waiting. */
  protected checkDrained(): void {
    if (this.drained !== undefined && this.isIdle()) this.drained();
  }

  protected isIdle(): boolean {
    if (this.queue.length > 0) return false;
    for (const slot of this.slots) {
      if (slot.jobs.length > 0 || slot.sessionJobs.size > 0 || slot.waiting.length > 0) return false;
    }
    return true;
  }
}
