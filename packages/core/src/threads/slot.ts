import type { MessagePort, Worker } from 'node:worker_threads';
import type { Job } from './job.js';
import { ringDepth, type Mailbox } from './mailbox.js';
import type { IoMessage, WsEventMessage } from './message-codec.js';
import { Outbox } from './outbox.js';
import { isQuick, quickServiceMs } from './wake-policy.js';

/** One worker thread as the IO thread sees it: its mailbox, the requests it holds and what it owns. */
export class Slot {
  readonly worker: Worker;
  /** The worker's bit in the doorbell, or -1 (then every doorbell looks at its mailbox). */
  readonly index: number;
  readonly mailbox: Mailbox;
  /** The IO thread's end of the worker's channel for oversized messages. */
  readonly port: MessagePort;
  ready = false;
  /**
   * Requests posted to the worker and not finished, in order: the first runs
   * (or is about to), the others are next in line and may still be revoked.
   */
  readonly jobs: Job[] = [];
  /** When the first of `jobs` started, as far as the IO thread knows (performance.now()). */
  frontSince = 0;
  /**
   * How long the worker's last request took, as the IO thread saw it: from
   * when it was posted (or the one before it settled) until it settled (ms).
   */
  lastServiceMs = Infinity;
  /**
   * Requests the worker has moved past whose stream messages may still be on
   * their way (a streamed request settles on parentPort, which the mailbox may outrun).
   */
  readonly lingering = new Map<number, Job>();
  /** The handler-timeout timer of the first of `jobs`. */
  timer: NodeJS.Timeout | undefined = undefined;
  idleTimer: NodeJS.Timeout | undefined = undefined;
  /** Set once the pool has decided this worker goes away; it has left the pool then. */
  retiring = false;
  /** Open streams and WebSockets this worker owns. */
  streams = 0;
  /** Session requests running on this worker, by request id. */
  readonly sessionJobs = new Map<number, Job>();
  /** Session requests waiting for this worker to be ready. */
  readonly waiting: Job[] = [];
  /** Session keys bound to this worker. */
  sessions = 0;
  /** WebSocket events waiting for the end of this event-loop turn, to go as one message. */
  readonly outbox = new Outbox<WsEventMessage>();

  constructor(worker: Worker, index: number, mailbox: Mailbox, port: MessagePort) {
    this.worker = worker;
    this.index = index;
    this.mailbox = mailbox;
    this.port = port;
  }

  /** True when the worker can take a request now. */
  isFree(): boolean {
    return this.ready && this.jobs.length === 0 && !this.retiring && !this.mailbox.eventsBusy && this.mailbox.canPost();
  }

  /**
   * True when the worker may be given a request to run after its current
   * ones: it has been answering quickly, its current request started just
   * now, and its ring has room.
   */
  canTakeNext(now: number): boolean {
    return (
      this.ready &&
      !this.retiring &&
      this.jobs.length < ringDepth &&
      isQuick(this.lastServiceMs) &&
      now - this.frontSince < quickServiceMs &&
      !this.mailbox.eventsBusy &&
      this.mailbox.canPost()
    );
  }

  /** The request a worker's message is about: one of its mailbox requests or one of its session requests. */
  jobOf(id: number): Job | undefined {
    for (const job of this.jobs) if (job.id === id) return job;
    return this.lingering.get(id) ?? this.sessionJobs.get(id);
  }

  /** True while the worker holds streams, WebSockets or sessions: it is not retired for idling. */
  ownsStreams(): boolean {
    return this.streams > 0 || this.sessions > 0 || this.sessionJobs.size > 0;
  }

  clearIdleTimer(): void {
    if (this.idleTimer === undefined) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  /** Posts a message to the worker: the events queued before it go first. */
  post(message: IoMessage, transfer: ArrayBuffer[] = []): void {
    this.flushOutbox();
    this.worker.postMessage(message, transfer);
    this.mailbox.messagePosted();
  }

  /** Sends the events gathered in the outbox, as one message. */
  flushOutbox(): void {
    const message = this.outbox.take();
    if (message === undefined || this.retiring) return;
    this.worker.postMessage(message);
    this.mailbox.messagePosted();
  }
}
