import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { MxError } from '../errors.js';
import type { RequestHead, ResponseSink, UpgradeOptions } from '../http/request.js';
import type { StreamChannel } from '../sse/sse-stream.js';
import type { WebSocketChannel } from '../websocket/websocket.js';
import type { EventDelivery } from '../server/websocket-connection.js';
import { plainResponse } from '../http/response.js';
import type { LogLevel } from '../log/log-handler.js';
import {
  Mailbox,
  transferableOf,
  MessageType,
  createDoorbell,
  createMailboxMemory,
  doorbellIndexes,
  doorbellWaiting,
  takeRung,
  heartbeatIntervalMs,
  protocolVersion,
  type IoMessage,
  type WorkerConfig,
  type WorkerMessage,
  type WsEventMessage,
} from './dispatch-protocol.js';

export interface PoolOptions {
  appUrl: string;
  min: number;
  max: number;
  idleTimeoutMs: number;
  maxQueuedRequests: number;
  handlerTimeoutMs: number;
  workerNice: number;
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
  workers: number;
  busyWorkers: number;
  idleWorkers: number;
  queuedRequests: number;
  workerRestarts: number;
}

interface Job {
  id: number;
  head: RequestHead;
  body: Buffer | undefined;
  sink: PoolSink;
  responded: boolean;
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
  job: Job | undefined;
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
 * Mummy's thread pool on worker_threads. Each worker runs one request at a
 * time, so a handler may block its thread without delaying requests on other
 * workers. Requests wait in one bounded FIFO queue on the IO thread; the first
 * free worker takes the oldest. An elastic pool (`max > min`) starts a worker
 * whenever a request waits and every worker is busy, and retires workers above
 * `min` after `idleTimeoutMs` without work.
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
  #closing = false;
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
    const wait = Atomics.waitAsync(this.#doorbell, 0, this.#doorbellSeen);
    if (wait.async) void wait.value.then(this.#onDoorbell);
    else queueMicrotask(this.#onDoorbell);
  }

  readonly #onDoorbell = (): void => {
    this.#listening = false;
    this.#collectAll();
    if (this.#queue.length > 0) this.#dispatchQueued();
    if (this.#busyCount() > 0 || this.#queue.length > 0) this.#listen();
  };

  /**
   * Workers are woken once per event-loop turn, after every socket that was
   * ready has been read: on a busy core, waking a worker at once hands it the
   * CPU mid-batch, and each request then costs two context switches.
   */
  #wakeLater(slot: Slot): void {
    this.#toWake.push(slot);
    if (this.#toWake.length === 1) setImmediate(this.#wakeAll);
  }

  readonly #toWake: Slot[] = [];
  readonly #wakeAll = (): void => {
    for (const slot of this.#toWake) slot.mailbox.wake();
    this.#toWake.length = 0;
  };

  #busyCount(): number {
    let busy = 0;
    for (const slot of this.#slots) if (slot.job !== undefined) busy++;
    return busy;
  }

  /** Takes every response and settlement written since the doorbell last rang. */
  #collectAll(): void {
    this.#doorbellSeen = Atomics.load(this.#doorbell, 0);
    takeRung(this.#doorbell, this.#collectIndex);
    for (const slot of this.#unindexed) if (slot.job !== undefined) this.#collect(slot);
  }

  readonly #collectIndex = (index: number): void => {
    const slot = this.#byIndex[index];
    if (slot !== undefined && slot.job !== undefined && this.#slots.has(slot)) this.#collect(slot);
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

  /** Takes what a worker wrote to its mailbox: a response, a settled handler, or both. */
  #collect(slot: Slot): void {
    const received = slot.mailbox.takeResponse(slot.port);
    const job = slot.job;
    if (received !== undefined && job !== undefined && received.id === job.id) {
      if (!job.responded) {
        job.responded = true;
        job.sink.send(received.response);
      }
      if (received.settled) {
        this.#finish(slot);
        return;
      }
    }
    const settled = slot.mailbox.takeSettled();
    if (settled !== undefined && slot.job !== undefined && settled === slot.job.id) this.#finish(slot);
  }

  /** Starts `min` workers and resolves once each has loaded the app module. */
  async start(): Promise<void> {
    const ready: Array<Promise<void>> = [];
    for (let i = 0; i < this.#options.min; i++) ready.push(this.#spawn());
    await Promise.all(ready);
  }

  dispatch(head: RequestHead, body: Buffer | undefined, sink: PoolSink): void {
    const job: Job = { id: this.#options.nextId(), head, body, sink, responded: false };
    let slot = this.#freeSlot();
    if (slot === undefined && Atomics.load(this.#doorbell, 0) !== this.#doorbellSeen) {
      // Workers that answered since the IO thread last looked are free: collecting now keeps
      // this request out of the queue, and keeps an elastic pool from growing for it.
      this.#collectAll();
      slot = this.#freeSlot();
    }
    if (slot !== undefined) {
      this.#run(slot, job);
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
    // An elastic pool starts a worker for each waiting request no starting worker is meant for
    // (#slots already holds the ones still starting); requests whose client left do not count.
    if (this.#slots.size < this.#options.max && this.#starting < this.#queue.length) {
      this.#dropAbandoned();
      if (this.#starting < this.#queue.length) this.#spawn().catch((error: unknown) => this.#onSpawnError(error));
    }
  }

  /**
   * Runs a request of a session route: on the worker its key is bound to,
   * whatever that worker is doing, or — for a new or unknown key — on the
   * worker holding the fewest sessions. Session requests travel as messages,
   * not through the mailbox, so a worker can hold several at once.
   */
  dispatchSession(key: string | undefined, head: RequestHead, body: Buffer | undefined, sink: PoolSink): void {
    const job: Job = { id: this.#options.nextId(), head, body, sink, responded: false };
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
        (slot.job === undefined ? 0 : 1_000) +
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
    return slot.job?.id === id ? slot.job : slot.sessionJobs.get(id);
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
    let best: Slot | undefined;
    for (const slot of this.#slots) {
      if (!slot.ready || slot.job !== undefined || slot.retiring || slot.mailbox.eventsBusy) continue;
      if (best === undefined || slot.streams + slot.sessions < best.streams + best.sessions) best = slot;
      if (best.streams + best.sessions === 0) break;
    }
    return best;
  }

  /** Hands waiting requests to workers that became free without finishing a request. */
  #dispatchQueued(): void {
    while (this.#queue.length > 0) {
      const slot = this.#freeSlot();
      if (slot === undefined) break;
      const job = this.#takeQueued();
      if (job === undefined) break;
      this.#run(slot, job);
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

  stats(): PoolStats {
    const busy = this.#busyCount();
    return {
      workers: this.#slots.size,
      busyWorkers: busy,
      idleWorkers: this.#slots.size - busy,
      queuedRequests: this.#queue.length,
      workerRestarts: this.#restarts,
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
    for (const job of this.#queue.splice(0)) {
      job.sink.send(plainResponse(503, 'Service Unavailable: server is shutting down', ['Connection', 'close']));
    }
    await Promise.all([...this.#slots].map((slot) => this.#retire(slot)));
  }

  #isIdle(): boolean {
    if (this.#queue.length > 0) return false;
    for (const slot of this.#slots) {
      if (slot.job !== undefined || slot.sessionJobs.size > 0 || slot.waiting.length > 0) return false;
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
      job: undefined,
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
        job.responded = true;
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
        job.responded = true;
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
      case MessageType.Settled:
        if (slot.job?.id === message[1]) this.#finish(slot);
        else this.#endSessionJob(slot, message[1]);
        break;
      case MessageType.SessionResponse: {
        const job = slot.sessionJobs.get(message[1]);
        if (job === undefined || job.responded) break;
        job.responded = true;
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

  #run(slot: Slot, job: Job): void {
    if (slot.idleTimer !== undefined) {
      clearTimeout(slot.idleTimer);
      slot.idleTimer = undefined;
    }
    slot.job = job;
    slot.mailbox.postRequest({ id: job.id, head: job.head, body: job.body }, slot.port);
    job.body = undefined;
    this.#wakeLater(slot);
    this.#listen();
    const timeoutMs = this.#options.handlerTimeoutMs;
    if (timeoutMs > 0) slot.timer = setTimeout(() => this.#onTimeout(slot, job), timeoutMs);
  }

  #finish(slot: Slot): void {
    if (slot.timer !== undefined) clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.job = undefined;
    this.#next(slot);
  }

  /** Gives a free worker the oldest queued request, or starts its idle clock. */
  #next(slot: Slot): void {
    if (slot.retiring || !slot.ready) return;
    const job = this.#takeQueued();
    if (this.#queue.length === 0) Atomics.store(this.#doorbell, doorbellWaiting, 0);
    if (job !== undefined) {
      this.#run(slot, job);
      return;
    }
    if (this.#drained !== undefined && this.#isIdle()) {
      this.#drained();
      return;
    }
    if (this.#slots.size > this.#options.min && !this.#closing) {
      slot.idleTimer = setTimeout(() => {
        // A worker whose streams are still open keeps serving them.
        if (slot.job === undefined && this.#slots.size > this.#options.min && !this.#ownsStreams(slot)) {
          void this.#retire(slot);
        }
      }, this.#options.idleTimeoutMs);
      slot.idleTimer.unref();
    }
  }

  /**
   * A handler unsettled after `handlerTimeoutMs`: it gets a 503 if it has not
   * responded. If its worker's event loop still turns (the handler awaits
   * something, e.g. it streams), the worker is left alone and checked again
   * after another timeout; if the thread is stuck (an endless loop, a blocked
   * call), the worker is terminated and replaced.
   */
  #onTimeout(slot: Slot, job: Job): void {
    if (slot.job !== job) return;
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
      if (slot.job !== job) return;
      if (slot.mailbox.heartbeat !== before) {
        this.#options.log('info', `handler still pending after ${this.#options.handlerTimeoutMs} ms: ${method} ${uri}`);
        slot.timer = setTimeout(() => this.#onTimeout(slot, job), this.#options.handlerTimeoutMs);
        return;
      }
      this.#options.log(
        'error',
        `handler unsettled after ${this.#options.handlerTimeoutMs} ms and its thread is stuck: ${method} ${uri}; replacing its worker`,
      );
      slot.job = undefined;
      this.#restarts++;
      void this.#retire(slot);
      this.#replace();
    }, 3 * heartbeatIntervalMs);
  }

  #onExit(slot: Slot, code: number): void {
    if (!this.#slots.delete(slot)) return;
    slot.port.close();
    this.#closeStreamsOf(slot);
    this.#dropSessionsOf(slot, this.#closing ? 'closing' : 'exited');
    if (slot.timer !== undefined) clearTimeout(slot.timer);
    if (slot.idleTimer !== undefined) clearTimeout(slot.idleTimer);
    if (slot.retiring) return;
    const job = slot.job;
    this.#options.log(
      'error',
      `worker thread exited (code ${code})${job === undefined ? '' : ` while handling ${job.head.method} ${job.head.uri}`}; replacing it`,
    );
    if (job !== undefined && !job.responded) {
      job.responded = true;
      job.sink.send(plainResponse(500, 'Internal Server Error'));
    }
    slot.job = undefined;
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
    if (slot.timer !== undefined) clearTimeout(slot.timer);
    this.#slots.delete(slot);
    slot.port.close();
    this.#closeStreamsOf(slot);
    this.#dropSessionsOf(slot, this.#closing ? 'closing' : 'exited');
    await slot.worker.terminate();
  }
}
