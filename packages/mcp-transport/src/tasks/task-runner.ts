import { objectOr } from '../json-rpc.js';
import { clientCapabilitiesMetaKey, serverInfoMetaKey, type AuthInfo } from '../mcp-types.js';
import { SseDecoder } from '../sse-decoder.js';
import { tasksExtensionId, type TaskCall, type TaskError, type TaskRecord } from './task.js';
import type { InputResume } from './task-edits.js';
import type { TaskStore } from './task-store.js';

/** Sends one 2026-07-28 request through the mount's SDK handler, as if a client had: the answer as the SDK gives it. */
export type InternalFetch = (
  body: Record<string, unknown>,
  call: TaskCall,
  authInfo: AuthInfo | undefined,
  signal: AbortSignal,
) => Promise<Response>;

export interface TaskRunnerOptions {
  readonly store: TaskStore;
  readonly fetch: InternalFetch;
  /** Input rounds one task may take before it fails. */
  readonly maxInputRounds: number;
  readonly log: (message: string) => void;
}

/** What a run of the tool answered. */
type Answer =
  { kind: 'result'; result: Record<string, unknown> } | { kind: 'error'; error: TaskError } | { kind: 'aborted' };

/** Longest line of a tool's streamed answer (one JSON-RPC message is one line). */
const maxAnswerLineLength = 64 * 1024 * 1024;
/** Progress reaches the store at most this often per task; the last one always does. */
const progressIntervalMs = 250;

const closing: TaskError = { code: -32603, message: 'The server closed before the task finished' };

/**
 * Runs the tools of this thread's tasks. A run is a `tools/call` sent
 * through the mount's own SDK handler, with the client's envelope minus the
 * Tasks extension, so the SDK serves it as a plain synchronous call: the
 * tool needs no task code. Its progress notifications become the task's
 * `statusMessage`; its `input_required` answer parks the task until
 * `tasks/update` has answered every request, then the call is sent again
 * with the answers and the tool's `requestState` (a multi-round-trip retry);
 * its result or JSON-RPC error ends the task. A cancelled or expired task
 * aborts the run (the tool's `signal`).
 *
 * A run's promise settles when the run does: the route handler that started
 * it (the `tools/call` that created the task, or the `tasks/update` that
 * answered the last input) awaits it after answering, so on a worker thread
 * the pool gives that worker no other request meanwhile.
 */
export class TaskRunner {
  readonly #options: TaskRunnerOptions;
  readonly #running = new Map<string, { controller: AbortController; closing: boolean }>();
  #closed = false;

  constructor(options: TaskRunnerOptions) {
    this.#options = options;
  }

  /** Tasks running on this thread now. */
  get runningCount(): number {
    return this.#running.size;
  }

  /** Runs a new task's call. */
  start(task: TaskRecord, authInfo: AuthInfo | undefined): Promise<void> {
    return this.#run(task, { ...task.call.params }, authInfo);
  }

  /** Runs the call again with the answers of the round that was just completed. */
  resume(task: TaskRecord, resume: InputResume, authInfo: AuthInfo | undefined): Promise<void> {
    const params: Record<string, unknown> = { ...task.call.params, inputResponses: resume.inputResponses };
    if (resume.requestState === undefined) delete params['requestState'];
    else params['requestState'] = resume.requestState;
    return this.#run(task, params, authInfo);
  }

  /** Aborts every run of this thread; their tasks end `failed` (the server is closing). */
  async close(): Promise<void> {
    this.#closed = true;
    const ending = [...this.#running].map(([taskId, run]) => {
      run.closing = true;
      run.controller.abort();
      return this.#options.store.complete(taskId, { error: closing, statusMessage: closing.message });
    });
    this.#running.clear();
    await Promise.allSettled(ending);
  }

  async #run(task: TaskRecord, params: Record<string, unknown>, authInfo: AuthInfo | undefined): Promise<void> {
    const { store, log } = this.#options;
    const taskId = task.taskId;
    if (this.#closed) {
      await store.complete(taskId, { error: closing, statusMessage: closing.message }).catch(() => undefined);
      return;
    }
    const run = { controller: new AbortController(), closing: false };
    this.#running.set(taskId, run);
    const stopWatching = store.watch(taskId, (current) => {
      // Cancelled, failed from elsewhere, or gone (expired, deleted): the tool's work is no longer wanted.
      if (current === undefined || current.status === 'cancelled' || current.status === 'failed') {
        run.controller.abort();
      }
    });
    try {
      let rounds = task.rounds;
      for (;;) {
        const progress = new ProgressReporter(store, taskId, log);
        const answer = await this.#send(task, params, authInfo, run.controller.signal, progress, rounds).finally(() =>
          progress.stop(),
        );
        if (answer.kind === 'aborted' || run.controller.signal.aborted) return;
        if (answer.kind === 'error') {
          await store.complete(taskId, {
            error: answer.error,
            statusMessage: `Tool execution failed: ${answer.error.message}`,
          });
          return;
        }
        const result = answer.result;
        if (result['resultType'] !== 'input_required') {
          await store.complete(taskId, { result: inlinedResult(result) });
          return;
        }
        if (++rounds > this.#options.maxInputRounds) {
          const error = {
            code: -32603,
            message: `The tool asked for input more than ${this.#options.maxInputRounds} times`,
          };
          await store.complete(taskId, { error, statusMessage: error.message });
          return;
        }
        const inputRequests = objectOr(result['inputRequests']);
        const requestState = typeof result['requestState'] === 'string' ? result['requestState'] : undefined;
        if (Object.keys(inputRequests).length > 0) {
          await store.requestInput(taskId, { inputRequests, requestState });
          return;
        }
        // A round with state but nothing to ask: the tool wants to be called again with it at once.
        params = { ...params, requestState };
        delete params['inputResponses'];
      }
    } catch (error) {
      log(`task ${taskId} failed: ${error instanceof Error ? error.message : String(error)}`);
      const failure = { code: -32603, message: 'Internal error while running the task' };
      await store.complete(taskId, { error: failure, statusMessage: failure.message }).catch(() => undefined);
    } finally {
      stopWatching();
      if (this.#running.get(taskId) === run) this.#running.delete(taskId);
    }
  }

  /** One `tools/call` through the SDK handler: its answer, with progress handed to `progress` on the way. */
  async #send(
    task: TaskRecord,
    params: Record<string, unknown>,
    authInfo: AuthInfo | undefined,
    signal: AbortSignal,
    progress: ProgressReporter,
    round: number,
  ): Promise<Answer> {
    const id = `mummyx-task:${task.taskId}:${round}`;
    const body = { jsonrpc: '2.0', id, method: 'tools/call', params: synchronousParams(params, task.taskId) };
    let response: Response;
    try {
      response = await this.#options.fetch(body, task.call, authInfo, signal);
    } catch (error) {
      if (signal.aborted) return { kind: 'aborted' };
      throw error;
    }
    if (response.status === 499) {
      void response.body?.cancel().catch(() => {});
      return { kind: 'aborted' };
    }
    try {
      return await readAnswer(response, id, (notification) => progress.report(notification));
    } catch (error) {
      if (signal.aborted) return { kind: 'aborted' };
      throw error;
    }
  }
}

/**
 * The params of a run: the client's, with the Tasks extension taken out of
 * its declared capabilities (so the SDK answers synchronously and nothing
 * makes a task of it again), a progress token of the task's own (so the tool
 * reports progress), and no legacy `task` hint.
 */
function synchronousParams(params: Record<string, unknown>, taskId: string): Record<string, unknown> {
  const meta = objectOr(params['_meta']);
  const capabilities = objectOr(meta[clientCapabilitiesMetaKey]);
  const extensions = { ...objectOr(capabilities['extensions']) };
  delete extensions[tasksExtensionId];
  const rest = { ...params };
  delete rest['task'];
  return {
    ...rest,
    _meta: {
      ...meta,
      progressToken: `task:${taskId}`,
      [clientCapabilitiesMetaKey]: { ...capabilities, extensions },
    },
  };
}

/**
 * A tool's result as `tasks/get` inlines it: the `CallToolResult` as the SDK
 * answered it (`resultType: "complete"` included: the 2026-07-28 result
 * schema requires it, and clients validate the inlined result with it),
 * without the server identity stamped on the response that carried it.
 */
function inlinedResult(result: Record<string, unknown>): Record<string, unknown> {
  const meta = { ...objectOr(result['_meta']) };
  if (!(serverInfoMetaKey in meta)) return result;
  delete meta[serverInfoMetaKey];
  const inlined = { ...result };
  if (Object.keys(meta).length === 0) delete inlined['_meta'];
  else inlined['_meta'] = meta;
  return inlined;
}

/** Reads the SDK's answer to one request: a JSON body, or an event stream whose notifications come first. */
async function readAnswer(
  response: Response,
  id: string,
  onNotification: (message: Record<string, unknown>) => void,
): Promise<Answer> {
  const type = response.headers.get('content-type') ?? '';
  if (/^\s*text\/event-stream/i.test(type) && response.body !== null) {
    const reader = response.body.getReader();
    const decoder = new SseDecoder(maxAnswerLineLength);
    try {
      for (;;) {
        const read = await reader.read();
        if (read.done) break;
        for (const item of decoder.push(read.value as Uint8Array)) {
          if (item.kind !== 'event' || item.data === '') continue;
          const message = parseMessage(item.data);
          if (message === undefined) continue;
          if (message['id'] === id) return answerOf(message);
          if (typeof message['method'] === 'string' && !('id' in message)) onNotification(message);
        }
      }
    } finally {
      void reader.cancel().catch(() => {});
    }
    return { kind: 'error', error: { code: -32603, message: "The tool's answer ended without a result" } };
  }
  const text = await response.text();
  const message = parseMessage(text);
  if (message === undefined) {
    return {
      kind: 'error',
      error: { code: -32603, message: `The tool's call was answered ${response.status} without a result` },
    };
  }
  return answerOf(message);
}

function parseMessage(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function answerOf(message: Record<string, unknown>): Answer {
  const error = message['error'];
  if (typeof error === 'object' && error !== null) {
    const { code, message: text, data } = error as { code?: unknown; message?: unknown; data?: unknown };
    return {
      kind: 'error',
      error: {
        code: typeof code === 'number' && Number.isSafeInteger(code) ? code : -32603,
        message: typeof text === 'string' ? text : 'Internal error',
        ...(data === undefined ? {} : { data }),
      },
    };
  }
  const result = message['result'];
  if (typeof result === 'object' && result !== null && !Array.isArray(result)) {
    return { kind: 'result', result: result as Record<string, unknown> };
  }
  return { kind: 'error', error: { code: -32603, message: 'The tool answered without a result' } };
}

/**
 * Turns a run's `notifications/progress` into the task's `statusMessage`:
 * the progress message, else `progress/total`. At most one store write per
 * `progressIntervalMs`; a later one waits and the latest wins.
 */
class ProgressReporter {
  readonly #store: TaskStore;
  readonly #taskId: string;
  readonly #log: (message: string) => void;
  #sentAtMs = 0;
  #pending: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(store: TaskStore, taskId: string, log: (message: string) => void) {
    this.#store = store;
    this.#taskId = taskId;
    this.#log = log;
  }

  report(notification: Record<string, unknown>): void {
    if (this.#stopped || notification['method'] !== 'notifications/progress') return;
    const params = objectOr(notification['params']);
    const { message, progress, total } = params;
    const text =
      typeof message === 'string'
        ? message
        : typeof progress === 'number'
          ? typeof total === 'number'
            ? `${progress}/${total}`
            : String(progress)
          : undefined;
    if (text === undefined) return;
    this.#pending = text;
    const waitMs = this.#sentAtMs + progressIntervalMs - Date.now();
    if (waitMs <= 0) this.#flush();
    else this.#timer ??= setTimeout(() => this.#flush(), waitMs);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #flush(): void {
    this.#timer = undefined;
    const text = this.#pending;
    if (this.#stopped || text === undefined) return;
    this.#pending = undefined;
    this.#sentAtMs = Date.now();
    this.#store.update(this.#taskId, text.slice(0, 1_000)).catch((error: unknown) => {
      this.#log(`task ${this.#taskId}: progress was not stored: ${String(error)}`);
    });
  }
}
