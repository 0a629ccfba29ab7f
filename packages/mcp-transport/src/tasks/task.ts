/**
 * The task records of the Tasks extension (`io.modelcontextprotocol/tasks`,
 * SEP-2663) as a `TaskStore` keeps them, and their wire shapes. Pure: values
 * in, values out.
 */

/** The extension's identifier, in `capabilities.extensions` and per-request client capabilities. */
export const tasksExtensionId = 'io.modelcontextprotocol/tasks';

export type TaskStatus = 'working' | 'input_required' | 'completed' | 'failed' | 'cancelled';

/** A JSON-RPC error as a failed task inlines it. */
export interface TaskError {
  code: number;
  message: string;
  data?: unknown;
}

/**
 * What it takes to run the call (again): the `tools/call` params as the
 * client sent them (name, arguments, its `_meta` envelope, and the
 * `inputResponses`/`requestState` of a multi-round-trip retry), the headers
 * that must match them (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`,
 * `Mcp-Param-*`), and where the call came from.
 */
export interface TaskCall {
  readonly params: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly url: string;
  readonly remoteAddress: string;
}

/** The input round a task waits on: what it has been answered so far and how the tool goes on. */
export interface TaskInputRound {
  /** Wire key → the tool's own key (wire keys are unique over the task's lifetime; the tool's need not be). */
  readonly keys: Readonly<Record<string, string>>;
  /** Answers received so far, by wire key. */
  readonly answers: Readonly<Record<string, unknown>>;
  /** The tool's `requestState`, handed back with the answers. */
  readonly requestState: string | undefined;
}

/**
 * One task as a store keeps it. Records are immutable: every change makes a
 * new one, so a record handed out never changes under its reader.
 */
export interface TaskRecord {
  readonly taskId: string;
  /** Who may see and steer the task: derived from the creator's `authInfo`, compared on every `tasks/*`. */
  readonly principal: string;
  readonly status: TaskStatus;
  readonly statusMessage: string | undefined;
  readonly createdAtMs: number;
  readonly lastUpdatedAtMs: number;
  /** The task is deleted this long after `createdAtMs`. */
  readonly ttlMs: number;
  readonly pollIntervalMs: number;
  /** Which thread (or node) runs it while `working`; a store may fail the task when that runner is gone. */
  readonly runner: string | undefined;
  readonly call: TaskCall;
  /** Outstanding input requests by wire key, while `input_required`. */
  readonly inputRequests: Readonly<Record<string, unknown>> | undefined;
  readonly round: TaskInputRound | undefined;
  /** Every input key the task has used: none is used twice. */
  readonly usedKeys: readonly string[];
  /** Input rounds so far. */
  readonly rounds: number;
  /** The tool's result, once `completed`. */
  readonly result: Readonly<Record<string, unknown>> | undefined;
  /** The JSON-RPC error, once `failed`. */
  readonly error: TaskError | undefined;
}

/** What `TaskStore.create` takes. */
export interface NewTask {
  readonly taskId: string;
  readonly principal: string;
  readonly ttlMs: number;
  readonly pollIntervalMs: number;
  readonly runner: string;
  readonly call: TaskCall;
}

export function isTerminal(status: TaskStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}

/** The record of a new task: `working`, created at `nowMs`, frozen. What `TaskStore.create` stores. */
export function newTaskRecord(task: NewTask, nowMs: number): TaskRecord {
  return Object.freeze({
    taskId: task.taskId,
    principal: task.principal,
    status: 'working',
    statusMessage: undefined,
    createdAtMs: nowMs,
    lastUpdatedAtMs: nowMs,
    ttlMs: task.ttlMs,
    pollIntervalMs: task.pollIntervalMs,
    runner: task.runner,
    call: task.call,
    inputRequests: undefined,
    round: undefined,
    usedKeys: [],
    rounds: 0,
    result: undefined,
    error: undefined,
  });
}

/** `record` with `changes`, stamped `lastUpdatedAtMs`. */
export function changed(record: TaskRecord, changes: Partial<TaskRecord>, nowMs: number): TaskRecord {
  return Object.freeze({ ...record, ...changes, lastUpdatedAtMs: Math.max(nowMs, record.lastUpdatedAtMs) });
}

/** The task fields every wire shape shares (SEP-2663 `Task`). */
function taskFields(record: TaskRecord): Record<string, unknown> {
  return {
    taskId: record.taskId,
    status: record.status,
    ...(record.statusMessage === undefined ? {} : { statusMessage: record.statusMessage }),
    createdAt: new Date(record.createdAtMs).toISOString(),
    lastUpdatedAt: new Date(record.lastUpdatedAtMs).toISOString(),
    ttlMs: record.ttlMs,
    pollIntervalMs: record.pollIntervalMs,
  };
}

/** The `CreateTaskResult` of a new task: flat (`Result & Task`), `resultType: "task"`. */
export function createTaskResult(record: TaskRecord): Record<string, unknown> {
  return { resultType: 'task', ...taskFields(record) };
}

/**
 * The `DetailedTask` of `tasks/get` and `notifications/tasks`: the task with
 * its outstanding `inputRequests`, its `result` or its `error` inlined.
 */
export function detailedTask(record: TaskRecord): Record<string, unknown> {
  const fields = taskFields(record);
  switch (record.status) {
    case 'input_required':
      return { ...fields, inputRequests: record.inputRequests ?? {} };
    case 'completed':
      return { ...fields, result: record.result ?? { content: [] } };
    case 'failed':
      return { ...fields, error: record.error ?? { code: -32603, message: 'Internal error' } };
    default:
      return fields;
  }
}

/**
 * Wire keys for the tool's input keys: the tool's own key while the task
 * never used it, else the key with the first free `~n` suffix, so a key a
 * client answered is never asked again.
 */
export function uniqueInputKeys(toolKeys: readonly string[], usedKeys: readonly string[]): Record<string, string> {
  const taken = new Set(usedKeys);
  const keys: Record<string, string> = {};
  for (const toolKey of toolKeys) {
    let wireKey = toolKey;
    for (let n = 2; taken.has(wireKey); n++) wireKey = `${toolKey}~${n}`;
    taken.add(wireKey);
    keys[wireKey] = toolKey;
  }
  return keys;
}
