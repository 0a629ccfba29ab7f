import { plainResponse } from '../http/response.js';
import { transferableOf } from '../http/transferable.js';
import type { LogLevel } from '../log/log-handler.js';
import { answerTimedOut } from './handler-timeouts.js';
import type { Job } from './job.js';
import { MessageType } from './message-codec.js';
import type { RequestTimes } from './pool-stats.js';
import { SessionRegistry } from './session-registry.js';
import type { Slot } from './slot.js';

/** What session routing needs from the pool. */
export interface SessionPool {
  readonly slots: ReadonlySet<Slot>;
  readonly times: RequestTimes;
  readonly handlerTimeoutMs: number;
  readonly log: (level: LogLevel, message: string) => void;
  /** Starts a worker for a new session, or undefined when the pool may not grow (at `max`, closing). */
  spawnForSession(): Slot | undefined;
  /** A session request finished: a closing pool may be drained now. */
  settled(): void;
}

/**
 * Requests of session routes, in threaded mode: each goes to the worker its
 * session key is bound to, whatever that worker is doing, or — for a new or
 * unknown key — to the worker holding the fewest sessions. They travel as
 * messages, not through the mailbox, so a worker can hold several at once (a
 * session's next request must reach it while an earlier one still waits for
 * something).
 */
export class SessionRouting {
  readonly #pool: SessionPool;
  /** Which worker each bound session key routes to. */
  readonly #owners = new SessionRegistry<Slot>();

  constructor(pool: SessionPool) {
    this.#pool = pool;
  }

  /** Bound session keys, on every worker. */
  get size(): number {
    return this.#owners.size;
  }

  /** True while some worker holds `key`. */
  isBound(key: string): boolean {
    return this.#owners.ownerOf(key) !== undefined;
  }

  /** Told when a key becomes bound on some worker, and when no worker holds it any more. */
  set onKeyChange(listener: ((key: string, isBound: boolean) => void) | undefined) {
    this.#owners.onKeyChange = listener;
  }

  dispatch(key: string | undefined, job: Job): void {
    let slot = key === undefined ? undefined : this.#owners.ownerOf(key);
    if (slot === undefined || slot.retiring || !this.#pool.slots.has(slot)) slot = this.#slotForNewSession();
    if (slot === undefined) {
      job.sink.send(plainResponse(503, 'Service Unavailable: no worker can take the session', ['Retry-After', '1']));
      return;
    }
    slot.clearIdleTimer();
    if (!slot.ready) {
      slot.waiting.push(job);
      return;
    }
    this.#send(slot, job);
  }

  /**
   * The worker for a new session: the one holding the fewest sessions, then
   * the least busy. An elastic pool starts a worker instead of putting a
   * second session on one.
   */
  #slotForNewSession(): Slot | undefined {
    let best: Slot | undefined;
    let bestLoad = 0;
    for (const slot of this.#pool.slots) {
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
    if (best === undefined || best.sessions > 0) return this.#pool.spawnForSession() ?? best;
    return best;
  }

  /** The worker is ready: the session requests that waited for it go now. */
  sendWaiting(slot: Slot): void {
    for (const job of slot.waiting.splice(0)) this.#send(slot, job);
  }

  #send(slot: Slot, job: Job): void {
    slot.sessionJobs.set(job.id, job);
    this.#pool.times.begin(job, performance.now());
    const body = job.body;
    job.body = undefined;
    const bytes = body === undefined ? undefined : new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    const transfer = transferableOf(bytes);
    slot.post([MessageType.SessionRequest, job.id, job.head, bytes], transfer === undefined ? [] : [transfer]);
    const timeoutMs = this.#pool.handlerTimeoutMs;
    if (timeoutMs > 0) {
      job.timer = setTimeout(() => {
        if (!job.responded) answerTimedOut(job, timeoutMs, this.#pool.log);
      }, timeoutMs);
      job.timer.unref();
    }
  }

  /** The worker answered a session request. */
  respond(slot: Slot, id: number, status: number, headers: string[], body: string | Uint8Array | undefined): void {
    const job = slot.sessionJobs.get(id);
    if (job === undefined || job.responded) return;
    this.#pool.times.answered(job);
    job.sink.send({ status, headers, body });
  }

  /** The handler of a session request settled. */
  settle(slot: Slot, id: number): void {
    const job = slot.sessionJobs.get(id);
    if (job === undefined) return;
    slot.sessionJobs.delete(id);
    if (job.timer !== undefined) clearTimeout(job.timer);
    this.#pool.settled();
  }

  /** A handler on `slot` bound `key`: the session's requests go there from now on. */
  bind(slot: Slot, key: string): void {
    if (this.#owners.ownerOf(key) === slot) return;
    const previous = this.#owners.bind(key, slot);
    if (previous !== undefined) previous.sessions--;
    slot.sessions++;
  }

  unbind(slot: Slot, key: string): void {
    if (this.#owners.unbind(key, slot)) slot.sessions--;
  }

  /** A worker that exits takes its sessions with it: their requests fail, their keys unbind. */
  dropSessionsOf(slot: Slot, reason: 'closing' | 'exited'): void {
    this.#owners.dropOwner(slot);
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
}
