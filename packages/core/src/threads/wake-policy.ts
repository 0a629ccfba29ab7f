/**
 * When the IO thread and the workers wake each other, in one place. Every
 * wake-up is a context switch, and on a busy core it also hands the CPU from
 * one thread to another mid-batch; every `Atomics.notify` and `Atomics.wait`
 * in the process takes one lock, which 100 busy workers contend for. So the
 * pool wakes as seldom as it can without leaving work waiting:
 *
 * - IO thread → worker: a request is posted to the worker's mailbox, then the
 *   worker is woken by a notify on its signal word — at once if its last
 *   request ran `quickServiceMs` or longer (it will be held a while anyway),
 *   otherwise at the end of the IO thread's event-loop turn (`WorkerWakes`).
 *   A quick worker may also be handed its next requests behind the one it
 *   runs; they are taken back after `revokeAfterMs` if that one turns out slow.
 * - Worker → IO thread: a worker rings the doorbell after writing a response,
 *   and only a ring while the IO thread sleeps on it notifies (doorbell.ts). A
 *   worker whose next request is already posted runs it first and owes the
 *   ring, up to `maxOwedRings` (the IO thread also looks every `revokeAfterMs`
 *   while requests wait behind others).
 * - A worker between requests waits on its mailbox without turning its event
 *   loop, `busyWaitMs` (up to `quietWaitMs` when the loop holds nothing of the
 *   app's, see `loopIsQuiet`), and turns the loop every `busyTurnEvery` or
 *   `quietTurnEvery` requests served back to back.
 * - While a handler is pending its worker bumps a heartbeat every
 *   `heartbeatIntervalMs`; a timed-out handler whose heartbeat stood still for
 *   `stuckAfterMs` has a stuck thread, which is replaced.
 */
import type { Mailbox } from './mailbox.js';

/**
 * A worker whose requests finish within this time may be handed its next few
 * requests while it still runs one, so a single wake-up serves several.
 */
export const quickServiceMs = 1;

/**
 * A quick worker's last request ran under `quickServiceMs`. Two policies
 * hang on it: a quick worker may be handed requests behind the one it runs,
 * and it is woken at the end of the event-loop turn rather than at once.
 */
export function isQuick(lastServiceMs: number): boolean {
  return lastServiceMs < quickServiceMs;
}

/** Requests next in line behind a request running this long are taken back and go to the next free worker. */
export const revokeAfterMs = 2;

/**
 * Responses a worker may write without waking the IO thread while its next
 * request is already posted: it runs that one first, so the IO thread wakes
 * once for several responses instead of once each.
 */
export const maxOwedRings = 4;

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
export const busyWaitMs = 5;
export const quietWaitMs = 50;
/** Serving back to back, a worker turns its loop every this many requests while it is busy… */
export const busyTurnEvery = 8;
/** …and every this many while it is quiet (a multiple of `busyTurnEvery`). */
export const quietTurnEvery = 64;

/**
 * True when the event loop holds nothing of the app's: the only active
 * resource is the parentPort listener the worker entry adds. Node versions
 * without `getActiveResourcesInfo` always count as busy.
 */
export function loopIsQuiet(): boolean {
  if (typeof process.getActiveResourcesInfo !== 'function') return false;
  const resources = process.getActiveResourcesInfo();
  return resources.length === 1 && resources[0] === 'MessagePort';
}

/** How often a worker bumps its heartbeat word while a handler is pending. */
export const heartbeatIntervalMs = 100;

/** A heartbeat that has not moved for this long means the worker's thread is stuck. */
export const stuckAfterMs = 3 * heartbeatIntervalMs;

/**
 * Wakes workers the IO thread posted requests to. Quick workers are woken
 * once per event-loop turn, after every socket that was ready has been read:
 * on a busy core, waking a worker at once hands it the CPU mid-batch, and
 * each short request then costs two context switches. A worker whose last
 * request ran long is woken at once: its request will hold it for a while
 * anyway, and the time until the end of this turn would be added to it.
 */
export class WorkerWakes {
  readonly #toWake: Mailbox[] = [];

  wake(mailbox: Mailbox, lastServiceMs: number): void {
    if (!isQuick(lastServiceMs)) {
      mailbox.wake();
      return;
    }
    if (this.#toWake.includes(mailbox)) return;
    this.#toWake.push(mailbox);
    if (this.#toWake.length === 1) setImmediate(this.#wakeAll);
  }

  readonly #wakeAll = (): void => {
    for (const mailbox of this.#toWake) mailbox.wake();
    this.#toWake.length = 0;
  };
}
