import { randomUUID } from 'node:crypto';
import { BroadcastChannel, isMainThread, threadId, type Worker } from 'node:worker_threads';
import { McpTransportError } from '../errors.js';
import type { NewTask, TaskError, TaskRecord } from './task.js';
import type { InputResume, InputRound, TaskOutcome } from './task-edits.js';
import {
  InMemoryTaskStore,
  isTaskLimitError,
  TaskLimitError,
  type PollBudget,
  type TaskLimits,
  type TaskListener,
  type TaskPoll,
  type TaskStore,
} from './task-store.js';

/**
 * One `InMemoryTaskStore` per process, reached from every thread.
 *
 * The store lives on the main thread (core's IO thread, which imports the
 * app module, and so mounts MCP, before it starts any worker). A worker's
 * mount reaches it over a `BroadcastChannel` of its own: it announces the
 * channel's name on the store's well-known channel, the main thread opens
 * the same channel, welcomes it, and from then on answers its calls and
 * sends it the changes of the tasks it watches there. One channel per
 * worker, so a message is delivered to one thread, never broadcast to all.
 *
 * The main thread learns of every worker the process starts (`process`'s
 * `worker` event) and, when one exits (crashed, replaced, or the server is
 * closing), fails the `working` tasks it was running.
 */

/** The runner id of this thread: unique in the process, and across processes. */
export const threadRunner = `${process.pid}:${threadId}`;

/** How long a worker waits for the main thread's answer to one call. */
const callTimeoutMs = 10_000;
/** How long a worker waits for the main thread's welcome before it says hello again. */
const helloRepeatMs = 500;

/** The store methods a worker may call on the main thread's store. */
const storeMethodNames = [
  'create',
  'get',
  'poll',
  'update',
  'requestInput',
  'answerInput',
  'complete',
  'cancel',
  'expire',
] as const;
type StoreMethod = (typeof storeMethodNames)[number];
const storeMethods = new Set<string>(storeMethodNames);

type FromWorker =
  | { type: 'call'; id: number; method: StoreMethod; args: unknown[] }
  | { type: 'watch'; taskId: string }
  | { type: 'unwatch'; taskId: string }
  | { type: 'bye' };

type ToWorker =
  | { type: 'welcome' }
  | { type: 'reply'; id: number; value?: unknown; error?: SerializedError }
  | { type: 'change'; taskId: string; task: TaskRecord | null };

interface SerializedError {
  name: string;
  message: string;
  code?: string;
  scope?: 'server' | 'principal';
  limit?: number;
}

function serializeError(error: unknown): SerializedError {
  if (isTaskLimitError(error)) {
    return { name: error.name, message: error.message, code: error.code, scope: error.scope, limit: error.limit };
  }
  if (error instanceof McpTransportError) return { name: error.name, message: error.message, code: error.code };
  return { name: 'Error', message: error instanceof Error ? error.message : String(error) };
}

function deserializeError(error: SerializedError): Error {
  if (error.code === 'MX_ERR_TASK_LIMIT' && error.scope !== undefined && error.limit !== undefined) {
    return new TaskLimitError(error.scope, error.limit);
  }
  if (error.code === 'MX_ERR_TASK_STORE_CLOSED') return new McpTransportError('MX_ERR_TASK_STORE_CLOSED');
  return new Error(error.message);
}

function helloChannelName(name: string): string {
  return `mummyx:mcp-transport:tasks:${name}`;
}

/** A worker's connection, as the main thread holds it. */
interface Connection {
  readonly channel: BroadcastChannel;
  readonly thread: number;
  readonly watches: Map<string, () => void>;
}

const gone: TaskError = { code: -32603, message: 'The worker thread running the task stopped before it finished' };

/** The main thread's side: the store, and a connection per worker that said hello. */
class TaskStoreHost {
  readonly store: InMemoryTaskStore;
  readonly #hello: BroadcastChannel;
  readonly #connections = new Map<string, Connection>();
  readonly #log: (message: string) => void;
  readonly #onWorker = (worker: Worker): void => {
    // threadId reads -1 once the worker has exited: keep it now.
    const thread = worker.threadId;
    worker.once('exit', () => this.#workerExited(thread));
  };
  #closed = false;

  constructor(name: string, log: (message: string) => void) {
    this.#log = log;
    this.store = new InMemoryTaskStore({ onListenerError: (error) => log(`a task watcher threw: ${String(error)}`) });
    this.#hello = new BroadcastChannel(helloChannelName(name));
    this.#hello.onmessage = (event) => this.#greet((event as { data?: unknown }).data);
    // Listening for workers must not keep the process alive.
    (this.#hello as { unref?: () => void }).unref?.();
    process.on('worker', this.#onWorker);
  }

  close(error: TaskError): void {
    if (this.#closed) return;
    this.#closed = true;
    process.off('worker', this.#onWorker);
    this.#hello.close();
    this.store.close(error);
    for (const connection of [...this.#connections.values()]) this.#drop(connection);
  }

  #greet(data: unknown): void {
    const hello = data as { type?: unknown; channel?: unknown; thread?: unknown } | null;
    if (this.#closed || hello?.type !== 'hello' || typeof hello.channel !== 'string') return;
    if (this.#connections.has(hello.channel)) return;
    const channel = new BroadcastChannel(hello.channel);
    (channel as { unref?: () => void }).unref?.();
    const connection: Connection = {
      channel,
      thread: typeof hello.thread === 'number' ? hello.thread : -1,
      watches: new Map(),
    };
    this.#connections.set(hello.channel, connection);
    channel.onmessage = (event) => this.#receive(connection, (event as { data?: unknown }).data as FromWorker);
    this.#post(connection, { type: 'welcome' });
  }

  #receive(connection: Connection, message: FromWorker): void {
    switch (message?.type) {
      case 'call':
        void this.#answer(connection, message);
        return;
      case 'watch': {
        if (typeof message.taskId !== 'string' || connection.watches.has(message.taskId)) return;
        const taskId = message.taskId;
        const stop = this.store.watch(taskId, (task) => {
          this.#post(connection, { type: 'change', taskId, task: task ?? null });
          if (task === undefined) connection.watches.delete(taskId);
        });
        connection.watches.set(taskId, stop);
        return;
      }
      case 'unwatch':
        connection.watches.get(message.taskId)?.();
        connection.watches.delete(message.taskId);
        return;
      case 'bye':
        this.#drop(connection);
        return;
      default:
        return;
    }
  }

  async #answer(connection: Connection, message: { id: number; method: StoreMethod; args: unknown[] }): Promise<void> {
    const { id, method, args } = message;
    try {
      if (!storeMethods.has(method) || !Array.isArray(args)) throw new TypeError(`not a task store call: ${method}`);
      const value = await (this.store[method] as (...a: unknown[]) => Promise<unknown>)(...args);
      this.#post(connection, { type: 'reply', id, value });
    } catch (error) {
      this.#post(connection, { type: 'reply', id, error: serializeError(error) });
    }
  }

  #post(connection: Connection, message: ToWorker): void {
    try {
      connection.channel.postMessage(message);
    } catch (error) {
      this.#log(`a task store message did not go out: ${String(error)}`);
    }
  }

  #drop(connection: Connection): void {
    for (const stop of connection.watches.values()) stop();
    connection.watches.clear();
    connection.channel.close();
    for (const [name, held] of this.#connections) if (held === connection) this.#connections.delete(name);
  }

  #workerExited(thread: number): void {
    for (const connection of [...this.#connections.values()]) {
      if (connection.thread === thread) this.#drop(connection);
    }
    if (this.#closed) return;
    this.store.abandon(`${process.pid}:${thread}`, gone);
  }
}

/** A worker's side: every call goes to the main thread's store and comes back. */
class TaskStoreClient implements TaskStore {
  readonly #channel: BroadcastChannel;
  readonly #pending = new Map<
    number,
    { resolve(value: unknown): void; reject(error: Error): void; timer: NodeJS.Timeout }
  >();
  #queued: ToHost[] = [];
  readonly #watches = new Map<string, { listeners: Set<TaskListener>; known: boolean; last: TaskRecord | undefined }>();
  readonly #log: (message: string) => void;
  readonly #name: string;
  readonly #channelName: string;
  #nextId = 1;
  #welcomed = false;
  #helloAtMs = 0;
  #closed = false;

  constructor(name: string, log: (message: string) => void) {
    this.#log = log;
    this.#name = name;
    this.#channelName = `${helloChannelName(name)}:${threadId}:${randomUUID()}`;
    this.#channel = new BroadcastChannel(this.#channelName);
    (this.#channel as { unref?: () => void }).unref?.();
    this.#channel.onmessage = (event) => this.#receive((event as { data?: unknown }).data as ToWorker);
    this.#sayHello();
  }

  create(task: NewTask, limits: TaskLimits): Promise<TaskRecord> {
    return this.#call('create', [task, limits]) as Promise<TaskRecord>;
  }

  get(taskId: string): Promise<TaskRecord | undefined> {
    return this.#call('get', [taskId]) as Promise<TaskRecord | undefined>;
  }

  poll(taskId: string, budget: PollBudget): Promise<TaskPoll | undefined> {
    return this.#call('poll', [taskId, budget]) as Promise<TaskPoll | undefined>;
  }

  update(taskId: string, statusMessage: string): Promise<TaskRecord | undefined> {
    return this.#call('update', [taskId, statusMessage]) as Promise<TaskRecord | undefined>;
  }

  requestInput(taskId: string, round: InputRound): Promise<TaskRecord | undefined> {
    return this.#call('requestInput', [taskId, round]) as Promise<TaskRecord | undefined>;
  }

  answerInput(
    taskId: string,
    inputResponses: Readonly<Record<string, unknown>>,
    runner: string,
  ): Promise<{ task: TaskRecord; resume: InputResume | undefined } | undefined> {
    return this.#call('answerInput', [taskId, inputResponses, runner]) as Promise<
      { task: TaskRecord; resume: InputResume | undefined } | undefined
    >;
  }

  complete(taskId: string, outcome: TaskOutcome): Promise<TaskRecord | undefined> {
    return this.#call('complete', [taskId, outcome]) as Promise<TaskRecord | undefined>;
  }

  cancel(taskId: string, statusMessage: string): Promise<TaskRecord | undefined> {
    return this.#call('cancel', [taskId, statusMessage]) as Promise<TaskRecord | undefined>;
  }

  expire(taskId: string): Promise<boolean> {
    return this.#call('expire', [taskId]) as Promise<boolean>;
  }

  watch(taskId: string, listener: TaskListener): () => void {
    let watch = this.#watches.get(taskId);
    if (watch === undefined) {
      this.#watches.set(taskId, (watch = { listeners: new Set(), known: false, last: undefined }));
      this.#send({ type: 'watch', taskId });
    } else if (watch.known) {
      const { last } = watch;
      queueMicrotask(() => {
        if (watch!.listeners.has(listener)) this.#deliver(listener, last);
      });
    }
    watch.listeners.add(listener);
    return () => {
      const current = this.#watches.get(taskId);
      if (current === undefined || !current.listeners.delete(listener) || current.listeners.size > 0) return;
      this.#watches.delete(taskId);
      this.#send({ type: 'unwatch', taskId });
    };
  }

  /** Stops talking to the main thread; calls in flight reject. */
  close(): void {
    if (this.#closed) return;
    if (this.#welcomed) this.#channel.postMessage({ type: 'bye' });
    this.#closed = true;
    this.#channel.close();
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(new McpTransportError('MX_ERR_TASK_STORE_CLOSED'));
      this.#pending.delete(id);
    }
    this.#watches.clear();
  }

  #call(method: StoreMethod, args: unknown[]): Promise<unknown> {
    if (this.#closed) return Promise.reject(new McpTransportError('MX_ERR_TASK_STORE_CLOSED'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        this.#queued = this.#queued.filter((queued) => queued.type !== 'call' || queued.id !== id);
        reject(
          new McpTransportError(
            'MX_ERR_TASK_STORE_UNAVAILABLE',
            `${method} had no answer from the main thread within ${callTimeoutMs} ms (is the app module mounted there?)`,
          ),
        );
      }, callTimeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      this.#send({ type: 'call', id, method, args });
    });
  }

  #send(message: ToHost): void {
    if (this.#closed) return;
    if (!this.#welcomed) {
      this.#queued.push(message);
      // A hello sent before the main thread listened is lost: say it again now and then until welcomed.
      if (Date.now() - this.#helloAtMs >= helloRepeatMs) this.#sayHello();
      return;
    }
    this.#channel.postMessage(message);
  }

  #sayHello(): void {
    this.#helloAtMs = Date.now();
    const hello = new BroadcastChannel(helloChannelName(this.#name));
    hello.postMessage({ type: 'hello', channel: this.#channelName, thread: threadId });
    hello.close();
  }

  #receive(message: ToWorker): void {
    switch (message?.type) {
      case 'welcome':
        if (this.#welcomed) return;
        this.#welcomed = true;
        for (const queued of this.#queued.splice(0)) this.#channel.postMessage(queued);
        return;
      case 'reply': {
        const pending = this.#pending.get(message.id);
        if (pending === undefined) return;
        this.#pending.delete(message.id);
        clearTimeout(pending.timer);
        if (message.error !== undefined) pending.reject(deserializeError(message.error));
        else pending.resolve(message.value);
        return;
      }
      case 'change': {
        const watch = this.#watches.get(message.taskId);
        if (watch === undefined) return;
        const task = message.task ?? undefined;
        watch.known = true;
        watch.last = task;
        for (const listener of [...watch.listeners]) this.#deliver(listener, task);
        if (task === undefined) this.#watches.delete(message.taskId);
        return;
      }
      default:
        return;
    }
  }

  #deliver(listener: TaskListener, task: TaskRecord | undefined): void {
    try {
      listener(task);
    } catch (error) {
      this.#log(`a task watcher threw: ${String(error)}`);
    }
  }
}

type ToHost = FromWorker;

/** The process's stores on the main thread, by name, shared by the mounts that use them. */
const hosts: Map<string, { host: TaskStoreHost; refs: number }> = ((globalThis as Record<symbol, unknown>)[
  Symbol.for('mummyx.mcp-transport.task-store-hosts')
] ??= new Map()) as Map<string, { host: TaskStoreHost; refs: number }>;

/** A mount's handle on the process's store of `name`: the store, and how to let go of it. */
export interface SharedTaskStore {
  readonly store: TaskStore;
  /** Lets go of the store; the last mount on the main thread to let go fails its unfinished tasks. */
  release(error: TaskError): Promise<void>;
}

/**
 * The store named `name` (a mount's path) that every thread of the process
 * shares: on the main thread the store itself, on a worker a client of it.
 */
export function openSharedTaskStore(name: string, log: (message: string) => void): SharedTaskStore {
  if (!isMainThread) {
    const client = new TaskStoreClient(name, log);
    return {
      store: client,
      release: () => {
        client.close();
        return Promise.resolve();
      },
    };
  }
  let held = hosts.get(name);
  if (held === undefined) hosts.set(name, (held = { host: new TaskStoreHost(name, log), refs: 0 }));
  held.refs++;
  const host = held;
  let released = false;
  return {
    store: host.host.store,
    release: (error) => {
      if (released || --host.refs > 0) {
        released = true;
        return Promise.resolve();
      }
      released = true;
      hosts.delete(name);
      host.host.close(error);
      return Promise.resolve();
    },
  };
}
