import type { RequestHead } from '../http/request.js';
import { plainResponse } from '../http/response.js';
import { answerTimedOut } from './handler-timeouts.js';
import { newJob, type Job, type PoolSink } from './job.js';
import { MessageType, type WorkerMessage } from './message-codec.js';
import type { PoolStats } from './pool-stats.js';
import { Scheduler } from './scheduler.js';
import type { Slot } from './slot.js';
import { stuckAfterMs } from './wake-policy.js';

export type { PoolOptions } from './scheduler.js';

/** How long close() waits for terminated worker threads to exit. */
const terminateWaitMs = 1_000;

/**
 * Mummy's thread pool on worker_threads, as the server sees it: it starts the
 * workers (WorkerSlots), takes requests (`dispatch`, scheduled by Scheduler)
 * and session requests (`dispatchSession`, routed by SessionRouting), applies
 * what workers say on their parentPort, answers requests whose handler timed
 * out or whose worker left, reports stats and closes.
 */
export class WorkerPool extends Scheduler {
  /** Starts `min` workers and resolves once each has loaded the app module. */
  start(): Promise<void> {
    return this.workers.start();
  }

  /** Runs a request of a session route on the worker its key is bound to (see SessionRouting). */
  dispatchSession(key: string | undefined, head: RequestHead, body: Buffer | undefined, sink: PoolSink): void {
    this.sessions.dispatch(key, newJob(this.options.nextId(), head, body, sink));
  }

  /** Bound session keys, on every worker. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** True while some worker holds session key `key`. */
  isSessionBound(key: string): boolean {
    return this.sessions.isBound(key);
  }

  /** Told when a session key becomes bound on some worker, and when none holds it any more. */
  set onSessionKeyChange(listener: ((key: string, isBound: boolean) => void) | undefined) {
    this.sessions.onKeyChange = listener;
  }

  protected onMessage(slot: Slot, message: WorkerMessage): void {
    switch (message[0]) {
      case MessageType.Log:
        this.options.log(message[1], message[2]);
        break;
      case MessageType.StreamOpen: {
        const job = slot.jobOf(message[1]);
        if (job === undefined || job.responded) break;
        this.times.answered(job);
        this.relay.openStream(slot, job, message[2]);
        break;
      }
      case MessageType.WsUpgrade: {
        const job = slot.jobOf(message[1]);
        if (job === undefined || job.responded) break;
        this.times.answered(job);
        this.relay.upgrade(slot, job, message[2]);
        break;
      }
      case MessageType.ResponseOpen: {
        const job = slot.jobOf(message[1]);
        if (job === undefined || job.responded) {
          // Answered already (a handler timeout's 503): the worker stops reading the body.
          if (message[4] !== undefined) slot.post([MessageType.StreamClosed, message[1]]);
          break;
        }
        this.times.answered(job);
        this.relay.openResponse(slot, job, message[2], message[3], message[4]);
        break;
      }
      case MessageType.ResponseChunk:
        this.relay.deliver(message[1], message[2], message[3]);
        break;
      case MessageType.ResponseEnd:
        this.relay.finishResponse(message[1], message[2]);
        break;
      case MessageType.WatchClient: {
        const id = message[1];
        // The request may have settled, its response still streaming: then the relay has its sink.
        const sink = slot.jobOf(id)?.sink ?? this.relay.sinkOf(id);
        const onGone = (): void => {
          if (!slot.retiring) slot.post([MessageType.ClientGone, id]);
        };
        // A worker asks once its event loop turns with the response incomplete on its side. By
        // then this thread may have ended the exchange without it: its client left and the
        // stream was closed, or the request was answered here (a handler timeout's 503). Either
        // way the response will not complete, so the signal aborts.
        if (sink === undefined) onGone();
        else sink.watchClient(onGone);
        break;
      }
      case MessageType.WsSend:
        this.relay.send(message[1], message[2], message[3]);
        break;
      case MessageType.WsClose:
        this.relay.closeWebSocket(message[1], message[2], message[3]);
        break;
      case MessageType.WsEventsHandled:
        this.relay.eventsHandled(message[1]);
        break;
      case MessageType.StreamWrite:
        this.relay.write(message[1], message[2]);
        break;
      case MessageType.StreamEnd:
        this.relay.end(message[1]);
        break;
      case MessageType.Subscribe:
        this.relay.subscribe(message[1], message[2]);
        break;
      case MessageType.Unsubscribe:
        this.relay.unsubscribe(message[1], message[2]);
        break;
      case MessageType.Publish:
        this.options.publish(message[1], message[2]);
        break;
      case MessageType.Settled: {
        const id = message[1];
        // Requests before it on this worker settled first, through the mailbox: read them.
        if (slot.jobs[0] !== undefined && slot.jobs[0].id !== id && slot.jobs.some((job) => job.id === id)) {
          this.collect(slot);
        }
        if (slot.jobs[0]?.id === id) {
          this.finishFront(slot);
          this.next(slot);
        } else if (!slot.lingering.delete(id)) {
          this.sessions.settle(slot, id);
        }
        break;
      }
      case MessageType.SessionResponse:
        this.sessions.respond(slot, message[1], message[2], message[3], message[4]);
        break;
      case MessageType.SessionBind:
        this.sessions.bind(slot, message[1]);
        break;
      case MessageType.SessionUnbind:
        this.sessions.unbind(slot, message[1]);
        break;
      default:
        break;
    }
  }

  /**
   * A handler unsettled after `handlerTimeoutMs`: it gets a 503 if it has not
   * responded. If its worker's event loop still turns (the handler awaits
   * something, e.g. it streams), the worker is left alone and checked again
   * after another timeout; if the thread is stuck (an endless loop, a blocked
   * call), the worker is terminated and replaced.
   */
  protected onTimeout(slot: Slot, job: Job): void {
    if (slot.jobs[0] !== job) return;
    const { method, uri } = job.head;
    if (!job.responded) answerTimedOut(job, this.options.handlerTimeoutMs, this.options.log);
    const before = slot.mailbox.heartbeat;
    slot.timer = setTimeout(() => {
      if (slot.jobs[0] !== job) return;
      if (slot.mailbox.heartbeat !== before) {
        this.options.log('info', `handler still pending after ${this.options.handlerTimeoutMs} ms: ${method} ${uri}`);
        slot.timer = setTimeout(() => this.onTimeout(slot, job), this.options.handlerTimeoutMs);
        return;
      }
      this.options.log(
        'error',
        `handler unsettled after ${this.options.handlerTimeoutMs} ms and its thread is stuck: ${method} ${uri}; replacing its worker`,
      );
      this.workers.replaceStuck(slot);
    }, stuckAfterMs);
  }

  /**
   * A worker going away: the requests it has not started go back to the queue,
   * the others not answered yet get `status`.
   */
  protected releaseJobs(slot: Slot, status: 500 | 503): void {
    const revoked: Job[] = [];
    this.revokeWaiting(slot, revoked);
    this.#dropJobs(slot, status);
    if (revoked.length > 0) this.requeue(revoked);
  }

  /** Forgets the slot's requests; those not answered yet get `status`. */
  #dropJobs(slot: Slot, status: 500 | 503): void {
    if (slot.timer !== undefined) clearTimeout(slot.timer);
    slot.timer = undefined;
    this.prefetched -= Math.max(0, slot.jobs.length - 1);
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

  stats(): PoolStats {
    let busy = 0;
    let starting = 0;
    for (const slot of this.slots) {
      if (slot.jobs.length > 0) busy++;
      if (!slot.ready) starting++;
    }
    return {
      workers: this.slots.size,
      busyWorkers: busy,
      idleWorkers: this.slots.size - busy - starting,
      startingWorkers: starting,
      queuedRequests: this.queue.length + this.prefetched,
      workerRestarts: this.workers.restarts,
      waitTime: this.times.waitTime,
      runTime: this.times.runTime,
    };
  }

  /**
   * Lets running and queued requests finish for up to `deadlineMs`, answers
   * whatever is left with 503, then terminates every worker (workers still
   * starting too). Resolves once they have exited, or — a thread stuck in a
   * native call cannot be stopped before it returns — after
   * `terminateWaitMs` more; such threads no longer keep the process alive.
   */
  async close(deadlineMs: number): Promise<void> {
    this.workers.closing = true;
    if (!this.isIdle()) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadlineMs);
        this.drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.refusing = true;
    this.refuse(this.queue.splice(0));
    const exited = Promise.all([...this.slots].map((slot) => this.workers.retire(slot)));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, terminateWaitMs)))]);
    clearTimeout(timer);
  }
}
