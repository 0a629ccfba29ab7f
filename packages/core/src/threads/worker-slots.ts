import { MessageChannel, Worker, type ResourceLimits } from 'node:worker_threads';
import { MxError } from '../errors.js';
import type { LogLevel } from '../log/log-handler.js';
import { createDoorbell, doorbellIndexes } from './doorbell.js';
import { Mailbox, createMailboxMemory } from './mailbox.js';
import { MessageType, protocolVersion, type WorkerMessage } from './message-codec.js';
import { createSharedArena, releaseWorkerParts } from './shared-memory.js';
import { sharedSecret } from './shared-secret.js';
import { Slot } from './slot.js';
import { applyTierUpFactor } from './tier-up.js';
import type { WorkerConfig } from './worker-config.js';

export interface WorkerSlotsOptions {
  appUrl: string;
  min: number;
  max: number;
  workerNice: number;
  /** V8 limits of each worker (heap, stack); undefined: none. */
  resourceLimits: ResourceLimits | undefined;
  /** Divides V8's tier-up thresholds when the pool starts (see tier-up.ts); 1 leaves them alone. */
  tierUpFactor: number;
  compression: WorkerConfig['compression'];
  logLevel: LogLevel;
  log: (level: LogLevel, message: string) => void;
}

/** What the pool's scheduler does as workers come and go. */
export interface SlotEvents {
  /** The worker has loaded the app module: it takes requests from now on. */
  ready(slot: Slot): void;
  message(slot: Slot, message: WorkerMessage): void;
  /** The app module cannot be loaded: requests waiting for a worker get `status`. */
  failQueued(status: number, text: string): void;
  /** Takes what a worker wrote to its mailbox. */
  collect(slot: Slot): void;
  /** A worker leaves: requests it has not started go back to the queue, the others get `status`. */
  releaseJobs(slot: Slot, status: 500 | 503): void;
  /** A worker leaves: the streams and WebSockets it owns end. */
  closeStreamsOf(slot: Slot): void;
  /** A worker leaves: its sessions' requests fail and their keys unbind. */
  dropSessionsOf(slot: Slot, reason: 'closing' | 'exited'): void;
  /** Requests waiting for a worker. */
  queuedRequests(): number;
  /** A closing pool may have nothing left to wait for. */
  checkDrained(): void;
}

const workerEntry = new URL('./worker-main.js', import.meta.url);

/** Workers started between two turns of the IO thread's event loop when a pool starts. */
const spawnBatch = 8;

/**
 * The pool's worker threads: starting them (each with its mailbox, port and
 * doorbell index), and what happens when one exits or is retired — its
 * requests, streams and sessions are settled, and a pool below `min` (or with
 * work waiting) starts another.
 */
export class WorkerSlots {
  /** Every worker, starting ones included; a worker leaves it when it exits or is retired. */
  readonly slots = new Set<Slot>();
  /** Rung by workers after they write a response; awaited by the scheduler. */
  readonly doorbell: Int32Array;
  /** Workers by doorbell index; an index is free again once its worker's thread has exited. */
  readonly byIndex: Array<Slot | undefined> = [];
  /** Workers without a doorbell index (more threads alive at once than it has bits for). */
  readonly unindexed = new Set<Slot>();
  readonly #freeIndexes: number[] = [];
  /** What `sharedInt32Array()` and `sharedCount()` carve from on this pool's workers. */
  readonly #sharedArena: SharedArrayBuffer;
  /** Workers started and not ready yet. */
  starting = 0;
  restarts = 0;
  closing = false;
  #loadError: string | undefined;
  readonly #options: WorkerSlotsOptions;
  readonly #events: SlotEvents;

  constructor(options: WorkerSlotsOptions, events: SlotEvents) {
    this.#options = options;
    this.#events = events;
    // Retiring workers keep their index until their thread is gone: room for some of them too.
    this.doorbell = createDoorbell(options.max + 32);
    this.#sharedArena = createSharedArena(doorbellIndexes(this.doorbell));
  }

  /**
   * Starts `min` workers and resolves once each has loaded the app module.
   * Each `new Worker` holds the IO thread for a few milliseconds, more while
   * the threads started before it boot beside it: the IO thread turns its
   * event loop between batches, so a signal handler or close() runs during a
   * long start, and a pool closed meanwhile starts no more workers.
   */
  async start(): Promise<void> {
    const ready: Array<Promise<void>> = [];
    for (let i = 0; i < this.#options.min && !this.closing; i++) {
      ready.push(this.#spawn());
      if (i % spawnBatch === spawnBatch - 1) await new Promise((resolve) => setImmediate(resolve));
    }
    try {
      await Promise.all(ready);
    } finally {
      // Once the workers have loaded their modules: with V8's thresholds lowered from the start,
      // every thread optimized module-loading code it runs once, and 100 workers took ~3.5 s
      // more CPU to start (11.5-12.7 s instead of 15.4-16.0 s, examples/blocking.js THREADS=100).
      // V8 reads the thresholds as code runs, so the workers' request paths still tier up sooner.
      applyTierUpFactor(this.#options.tierUpFactor);
    }
    if (this.closing) throw new MxError('MX_ERR_SERVER_CLOSED', 'the pool was closed while it started');
  }

  /** Starts a worker; a failure to start is logged. */
  spawn(): void {
    this.#spawn().catch((error: unknown) => this.onSpawnError(error));
  }

  #spawn(): Promise<void> {
    if (this.#loadError !== undefined) return Promise.reject(new MxError('MX_ERR_APP_INVALID', this.#loadError));
    return this.spawnSlot().ready;
  }

  /** Starts a worker: its slot is in the pool at once and takes requests once `ready` resolves. */
  spawnSlot(): { slot: Slot; ready: Promise<void> } {
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
      doorbell: this.doorbell,
      port: channel.port2,
      sharedSecret: sharedSecret(),
      sharedArena: this.#sharedArena,
    };
    let worker: Worker;
    try {
      worker = new Worker(workerEntry, {
        workerData: config,
        transferList: [channel.port2],
        ...(this.#options.resourceLimits === undefined ? {} : { resourceLimits: this.#options.resourceLimits }),
      });
    } catch (error) {
      if (index >= 0) this.#freeIndexes.push(index);
      throw error;
    }
    const slot = new Slot(worker, index, new Mailbox(memory), channel.port1);
    if (slot.index < 0) this.unindexed.add(slot);
    else this.byIndex[slot.index] = slot;
    this.slots.add(slot);
    this.starting++;
    const ready = new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (error?: Error): void => {
        if (settled) return;
        settled = true;
        this.starting--;
        if (error === undefined) resolve();
        else reject(error);
      };
      const onMessage = (message: WorkerMessage): void => {
        switch (message[0]) {
          // A worker gathers its messages (worker-messages.ts): its Ready or LoadFailed may come
          // in a batch, after a log line written while its app module loaded.
          case MessageType.Batch:
            for (const inner of message[1]) onMessage(inner);
            break;
          case MessageType.Ready:
            slot.ready = true;
            settle();
            this.#events.ready(slot);
            break;
          case MessageType.LoadFailed:
            this.#loadError = message[1];
            this.#options.log('error', `worker cannot load the app module: ${message[1]}`);
            settle(new MxError('MX_ERR_APP_INVALID', message[1]));
            this.#events.failQueued(500, 'Internal Server Error: the application could not be loaded');
            void this.retire(slot);
            break;
          default:
            this.#events.message(slot, message);
        }
      };
      worker.on('message', onMessage);
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

  /** A free doorbell index, or -1 when every bit is taken. */
  #takeIndex(): number {
    const index = this.#freeIndexes.pop();
    if (index !== undefined) return index;
    if (this.byIndex.length >= doorbellIndexes(this.doorbell)) return -1;
    this.byIndex.push(undefined);
    return this.byIndex.length - 1;
  }

  /** Called once the slot's thread has exited: nothing can set its bit any more. */
  #releaseIndex(slot: Slot): void {
    this.unindexed.delete(slot);
    if (slot.index < 0 || this.byIndex[slot.index] !== slot) return;
    this.byIndex[slot.index] = undefined;
    releaseWorkerParts(this.#sharedArena, slot.index);
    this.#freeIndexes.push(slot.index);
  }

  #onExit(slot: Slot, code: number): void {
    // A retired worker's requests were settled by retire().
    if (!this.slots.delete(slot)) return;
    slot.retiring = true;
    // Responses written before the thread ended still go out; requests it never started run elsewhere.
    this.#events.collect(slot);
    slot.port.close();
    this.#events.closeStreamsOf(slot);
    this.#events.dropSessionsOf(slot, this.closing ? 'closing' : 'exited');
    if (slot.idleTimer !== undefined) clearTimeout(slot.idleTimer);
    const job = slot.jobs[0];
    this.#options.log(
      'error',
      `worker thread exited (code ${code})${job === undefined ? '' : ` while handling ${job.head.method} ${job.head.uri}`}; replacing it`,
    );
    this.#events.releaseJobs(slot, 500);
    this.restarts++;
    this.#replace();
  }

  /** Keeps the pool at `min` workers, or starts one for waiting work. */
  #replace(): void {
    if (this.closing || this.#loadError !== undefined) {
      this.#events.checkDrained();
      return;
    }
    const wanted = Math.max(this.#options.min, Math.min(this.#options.max, this.#events.queuedRequests()));
    if (this.slots.size < wanted) this.spawn();
  }

  /** Retires a worker whose thread is stuck in a handler, and starts another. */
  replaceStuck(slot: Slot): void {
    this.restarts++;
    void this.retire(slot);
    this.#replace();
  }

  /** Logs a worker that could not be started. */
  onSpawnError(error: unknown): void {
    // Workers still starting when the pool closes are terminated on purpose.
    if (!this.closing) this.#options.log('error', `cannot start worker: ${String(error)}`);
  }

  /** Takes a worker out of the pool and terminates its thread; what it held is settled first. */
  async retire(slot: Slot): Promise<void> {
    slot.retiring = true;
    if (slot.idleTimer !== undefined) clearTimeout(slot.idleTimer);
    this.slots.delete(slot);
    this.#events.releaseJobs(slot, this.closing ? 503 : 500);
    slot.port.close();
    this.#events.closeStreamsOf(slot);
    this.#events.dropSessionsOf(slot, this.closing ? 'closing' : 'exited');
    // A thread is stopped between two JavaScript instructions, or once a native call it is in
    // returns: it no longer keeps the process alive meanwhile.
    slot.worker.unref();
    await slot.worker.terminate();
  }
}
