import { McpTransportError } from '../errors.js';
import { newTaskRecord, type NewTask, type TaskError, type TaskRecord } from './task.js';
import {
  applyTaskEdit,
  taskEdits,
  type InputResume,
  type InputRound,
  type TaskEdit,
  type TaskOutcome,
} from './task-edits.js';

/** How many tasks a store holds at once (any status, until they expire), in all and per principal. */
export interface TaskLimits {
  readonly maxTasks: number;
  readonly maxTasksPerPrincipal: number;
}

/** How often a task may be polled: `burst` polls at once, then one per `refillMs`. */
export interface PollBudget {
  readonly burst: number;
  readonly refillMs: number;
}

/** A poll: the task, and how long the caller must wait before it may poll again (0: it may now). */
export interface TaskPoll {
  readonly task: TaskRecord;
  readonly retryAfterMs: number;
}

/** Called with the task on every change, and once with its state when the watch starts; undefined once it is gone. */
export type TaskListener = (task: TaskRecord | undefined) => void;

/**
 * Where the tasks of a mount live. Every method is asynchronous and
 * resolves once the change is visible to every reader: `create` resolves
 * only when a `get` of the task, from any thread (or node), finds it.
 * Terminal states (`completed`, `failed`, `cancelled`) are final: changes
 * to a task in one are ignored, and the task is returned as it is. A task
 * is deleted `ttlMs` after it was created; its watchers then hear
 * `undefined`. Methods resolve `undefined` for a task that does not exist
 * (never created, expired or deleted).
 *
 * `InMemoryTaskStore` is the one-process implementation; the mount's
 * default shares one between every thread of the process.
 */
export interface TaskStore {
  /** Stores a new `working` task; rejects with `MX_ERR_TASK_LIMIT` (a `TaskLimitError`) when a limit is reached. */
  create(task: NewTask, limits: TaskLimits): Promise<TaskRecord>;
  get(taskId: string): Promise<TaskRecord | undefined>;
  /** A `get` that counts against the task's poll budget. */
  poll(taskId: string, budget: PollBudget): Promise<TaskPoll | undefined>;
  /** A new status message for a `working` task (progress). */
  update(taskId: string, statusMessage: string): Promise<TaskRecord | undefined>;
  /**
   * Appends input requests: a `working` task becomes `input_required` with
   * them, under keys it never used before (the tool's own keys while they
   * are new). A task in any other status is left as it is.
   */
  requestInput(taskId: string, round: InputRound): Promise<TaskRecord | undefined>;
  /**
   * Appends input responses: answers to outstanding keys are kept, others
   * ignored. When none is outstanding any more, the task is `working` again
   * on `runner`, and the result carries `resume` (exactly once per round)
   * for the tool's next round.
   */
  answerInput(
    taskId: string,
    inputResponses: Readonly<Record<string, unknown>>,
    runner: string,
  ): Promise<{ task: TaskRecord; resume: InputResume | undefined } | undefined>;
  /** Ends the task `completed` or `failed`. */
  complete(taskId: string, outcome: TaskOutcome): Promise<TaskRecord | undefined>;
  /** Ends the task `cancelled`. */
  cancel(taskId: string, statusMessage: string): Promise<TaskRecord | undefined>;
  /** Deletes the task now, as its `ttlMs` would; resolves whether it existed. */
  expire(taskId: string): Promise<boolean>;
  /** Follows a task's changes; returns the function that stops it. */
  watch(taskId: string, listener: TaskListener): () => void;
}

/** A store refused a new task: `scope` says which limit. */
export class TaskLimitError extends McpTransportError {
  readonly scope: 'server' | 'principal';
  readonly limit: number;

  constructor(scope: 'server' | 'principal', limit: number) {
    super(
      'MX_ERR_TASK_LIMIT',
      scope === 'server'
        ? `the server holds ${limit} tasks, the most it keeps at once; try again once some have expired`
        : `this client holds ${limit} tasks, the most one client may; try again once some have expired`,
    );
    this.name = 'TaskLimitError';
    this.scope = scope;
    this.limit = limit;
  }
}

/**
 * Whether `error` is a store's limit refusal: a `TaskLimitError`, or any error of the same shape
 * (`code` MX_ERR_TASK_LIMIT with its `scope` and `limit`), as a store in another package throws.
 */
export function isTaskLimitError(
  error: unknown,
): error is Error & { code: 'MX_ERR_TASK_LIMIT'; scope: 'server' | 'principal'; limit: number } {
  if (error instanceof TaskLimitError) return true;
  if (!(error instanceof Error)) return false;
  const { code, scope, limit } = error as Error & { code?: unknown; scope?: unknown; limit?: unknown };
  return code === 'MX_ERR_TASK_LIMIT' && (scope === 'server' || scope === 'principal') && typeof limit === 'number';
}

/** Longest ttl a timer can hold (setTimeout's limit, about 24.8 days). */
export const maxTtlMs = 2 ** 31 - 1;

interface Entry {
  record: TaskRecord;
  readonly timer: NodeJS.Timeout;
  pollTokens: number;
  pollAtMs: number;
}

/**
 * Tasks in this thread's memory, each deleted by its own timer when its
 * ttl elapses. Use one per process through the mount (every worker reaches
 * the one on the IO thread); a store made by hand serves its own thread.
 */
export class InMemoryTaskStore implements TaskStore {
  readonly #tasks = new Map<string, Entry>();
  readonly #perPrincipal = new Map<string, number>();
  readonly #watchers = new Map<string, Set<TaskListener>>();
  readonly #onListenerError: (error: unknown) => void;
  #closed = false;

  constructor(options: { onListenerError?: (error: unknown) => void } = {}) {
    this.#onListenerError = options.onListenerError ?? (() => {});
  }

  /** Tasks held now, of every status. */
  get size(): number {
    return this.#tasks.size;
  }

  create(task: NewTask, limits: TaskLimits): Promise<TaskRecord> {
    return settle(() => this.#create(task, limits));
  }

  #create(task: NewTask, limits: TaskLimits): TaskRecord {
    this.#assertOpen();
    if (this.#tasks.has(task.taskId)) throw new RangeError(`task ${task.taskId} exists`);
    if (this.#tasks.size >= limits.maxTasks) throw new TaskLimitError('server', limits.maxTasks);
    const held = this.#perPrincipal.get(task.principal) ?? 0;
    if (held >= limits.maxTasksPerPrincipal) throw new TaskLimitError('principal', limits.maxTasksPerPrincipal);
    const now = Date.now();
    const record = newTaskRecord(task, now);
    const timer = setTimeout(() => this.#delete(task.taskId), Math.min(task.ttlMs, maxTtlMs));
    timer.unref();
    this.#tasks.set(task.taskId, { record, timer, pollTokens: Number.POSITIVE_INFINITY, pollAtMs: now });
    this.#perPrincipal.set(task.principal, held + 1);
    return record;
  }

  get(taskId: string): Promise<TaskRecord | undefined> {
    return Promise.resolve(this.#tasks.get(taskId)?.record);
  }

  poll(taskId: string, budget: PollBudget): Promise<TaskPoll | undefined> {
    return settle(() => this.#poll(taskId, budget));
  }

  #poll(taskId: string, budget: PollBudget): TaskPoll | undefined {
    const entry = this.#tasks.get(taskId);
    if (entry === undefined) return undefined;
    const now = Date.now();
    const refilled = entry.pollTokens + (now - entry.pollAtMs) / Math.max(budget.refillMs, 1);
    const tokens = Math.min(budget.burst, refilled);
    entry.pollAtMs = now;
    if (tokens >= 1) {
      entry.pollTokens = tokens - 1;
      return { task: entry.record, retryAfterMs: 0 };
    }
    entry.pollTokens = tokens;
    return { task: entry.record, retryAfterMs: Math.ceil((1 - tokens) * budget.refillMs) };
  }

  update(taskId: string, statusMessage: string): Promise<TaskRecord | undefined> {
    return this.#settleChange(taskId, taskEdits.update(statusMessage));
  }

  requestInput(taskId: string, round: InputRound): Promise<TaskRecord | undefined> {
    return this.#settleChange(taskId, taskEdits.requestInput(round));
  }

  answerInput(
    taskId: string,
    inputResponses: Readonly<Record<string, unknown>>,
    runner: string,
  ): Promise<{ task: TaskRecord; resume: InputResume | undefined } | undefined> {
    return settle(() => this.#answerInput(taskId, inputResponses, runner));
  }

  #answerInput(
    taskId: string,
    inputResponses: Readonly<Record<string, unknown>>,
    runner: string,
  ): { task: TaskRecord; resume: InputResume | undefined } | undefined {
    let resume: InputResume | undefined;
    const task = this.#change(
      taskId,
      taskEdits.answerInput(inputResponses, runner, (resumed) => (resume = resumed)),
    );
    return task === undefined ? undefined : { task, resume };
  }

  complete(taskId: string, outcome: TaskOutcome): Promise<TaskRecord | undefined> {
    return this.#settleChange(taskId, taskEdits.complete(outcome));
  }

  cancel(taskId: string, statusMessage: string): Promise<TaskRecord | undefined> {
    return this.#settleChange(taskId, taskEdits.cancel(statusMessage));
  }

  expire(taskId: string): Promise<boolean> {
    return Promise.resolve(this.#delete(taskId));
  }

  watch(taskId: string, listener: TaskListener): () => void {
    let listeners = this.#watchers.get(taskId);
    if (listeners === undefined) this.#watchers.set(taskId, (listeners = new Set()));
    listeners.add(listener);
    let live = true;
    queueMicrotask(() => {
      if (live) this.#call(listener, this.#tasks.get(taskId)?.record);
    });
    return () => {
      if (!live) return;
      live = false;
      const current = this.#watchers.get(taskId);
      current?.delete(listener);
      if (current?.size === 0) this.#watchers.delete(taskId);
    };
  }

  /**
   * Fails the `working` tasks that `runner` was running (the thread that ran
   * them is gone); returns how many.
   */
  abandon(runner: string, error: TaskError): number {
    let count = 0;
    for (const [taskId, entry] of this.#tasks) {
      if (entry.record.status !== 'working' || entry.record.runner !== runner) continue;
      this.#change(taskId, taskEdits.abandon(error));
      count++;
    }
    return count;
  }

  /**
   * Fails every unfinished task with `error`, then deletes every task and
   * refuses further changes; watchers hear each task end, then `undefined`.
   */
  close(error: TaskError): void {
    if (this.#closed) return;
    for (const taskId of this.#tasks.keys()) this.#change(taskId, taskEdits.fail(error));
    this.#closed = true;
    for (const taskId of [...this.#tasks.keys()]) this.#delete(taskId);
  }

  #assertOpen(): void {
    if (this.#closed) throw new McpTransportError('MX_ERR_TASK_STORE_CLOSED');
  }

  #settleChange(taskId: string, edit: TaskEdit): Promise<TaskRecord | undefined> {
    return settle(() => this.#change(taskId, edit));
  }

  /** Applies `edit` (undefined: nothing to change) and tells the watchers. */
  #change(taskId: string, edit: TaskEdit): TaskRecord | undefined {
    const entry = this.#tasks.get(taskId);
    if (entry === undefined) return undefined;
    if (this.#closed) return entry.record;
    const next = applyTaskEdit(entry.record, edit, Date.now());
    if (next === undefined) return entry.record;
    entry.record = next;
    this.#notify(taskId, entry.record);
    return entry.record;
  }

  #delete(taskId: string): boolean {
    const entry = this.#tasks.get(taskId);
    if (entry === undefined) return false;
    clearTimeout(entry.timer);
    this.#tasks.delete(taskId);
    const principal = entry.record.principal;
    const held = (this.#perPrincipal.get(principal) ?? 1) - 1;
    if (held <= 0) this.#perPrincipal.delete(principal);
    else this.#perPrincipal.set(principal, held);
    this.#notify(taskId, undefined);
    this.#watchers.delete(taskId);
    return true;
  }

  #notify(taskId: string, record: TaskRecord | undefined): void {
    const listeners = this.#watchers.get(taskId);
    if (listeners === undefined) return;
    for (const listener of [...listeners]) this.#call(listener, record);
  }

  #call(listener: TaskListener, record: TaskRecord | undefined): void {
    try {
      listener(record);
    } catch (error) {
      this.#onListenerError(error);
    }
  }
}

/** `run`'s value, or its throw, as a promise. */
function settle<T>(run: () => T): Promise<T> {
  try {
    return Promise.resolve(run());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}
