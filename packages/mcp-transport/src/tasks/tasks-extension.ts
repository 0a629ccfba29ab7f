import { createHash, randomBytes } from 'node:crypto';
import type { ChannelEventBus } from '../event-bus.js';
import { isObject, objectOr } from '../json-rpc.js';
import { clientCapabilitiesMetaKey, type AuthInfo, type RequestId } from '../mcp-types.js';
import { protocolServerOf, type McpServerLike } from '../session-transport.js';
import { openSharedTaskStore, threadRunner, type SharedTaskStore } from './shared-task-store.js';
import { createTaskResult, detailedTask, tasksExtensionId, type TaskCall, type TaskRecord } from './task.js';
import { TaskListenStreams, type ListenFilter } from './task-listen.js';
import { TaskRunner, type InternalFetch } from './task-runner.js';
import { isTaskLimitError, maxTtlMs, type PollBudget, type TaskLimits, type TaskStore } from './task-store.js';

/** What the `tools` and `required` predicates learn about a call. */
export interface TaskCallInfo {
  readonly arguments: Readonly<Record<string, unknown>> | undefined;
  /** Set on a multi-round-trip retry: the client's answers to the previous round. */
  readonly inputResponses: Readonly<Record<string, unknown>> | undefined;
}

/**
 * The Tasks extension (`io.modelcontextprotocol/tasks`) on the 2026-07-28
 * path: a `tools/call` of a task tool, from a client that declared the
 * extension on that request, is answered at once with a task handle and
 * runs on; the client polls `tasks/get`, answers input with `tasks/update`,
 * stops it with `tasks/cancel`, or hears `notifications/tasks` on
 * `subscriptions/listen`. The tools need no task code: the transport runs
 * them as plain calls.
 */
export interface McpTasksOptions {
  /**
   * Which calls may become tasks: every tool, the named ones, or a
   * predicate. Return false for a round that should stay synchronous, such
   * as a multi-round-trip round that gathers input before the work starts
   * (`info.inputResponses === undefined`); the spec recommends resolving
   * those before creating the task. Other calls are answered as usual.
   */
  tools: 'all' | readonly string[] | ((name: string, info: TaskCallInfo) => boolean);
  /**
   * Tools that can only run as tasks: a client that did not declare the
   * extension on the request gets -32021 with
   * `data.requiredCapabilities.extensions["io.modelcontextprotocol/tasks"]`.
   * Default none.
   */
  required?: readonly string[] | ((name: string) => boolean);
  /**
   * Where tasks live. Default: one in-memory store per process shared by
   * every worker thread (it lives on the IO thread; workers reach it by
   * message passing), named after the mount's path.
   */
  store?: TaskStore;
  /** How long a task is kept after it was created, whatever its status, in ms. Default 3 600 000 (1 h). */
  ttlMs?: number;
  /** The poll interval suggested to clients (`pollIntervalMs`), in ms. Default 1 000. */
  pollIntervalMs?: number;
  /**
   * Polls of one task a client may make at once beyond twice the suggested
   * rate; a poll over budget gets -32000 with `data.retryAfterMs`. `false`
   * lets clients poll as fast as they like. Default 10.
   */
  pollBurst?: number | false;
  /** Tasks the store holds at once (any status, until they expire); more get -32000. Default 10 000. */
  maxTasks?: number;
  /** Tasks one principal holds at once (any status, until they expire); more get -32000. Default 1 000. */
  maxTasksPerPrincipal?: number;
  /** Input rounds one task may take; then it fails. Default 16. */
  maxInputRounds?: number;
  /**
   * Who owns a task, from the `authInfo` of the request: only requests of
   * the same principal see or steer it (others get -32602, as for an
   * unknown task). Default: the bearer token (hashed) and `clientId`, so a
   * refreshed token loses its tasks; return e.g. the user id to bind tasks
   * to something longer-lived. Without `authenticate`, every caller is the
   * same principal and the unguessable task id is the only secret.
   */
  principal?: (authInfo: AuthInfo | undefined) => string;
}

interface ResolvedTasksOptions {
  readonly isTaskTool: (name: string, info: TaskCallInfo) => boolean;
  readonly isRequired: (name: string) => boolean;
  readonly store: TaskStore | undefined;
  readonly ttlMs: number;
  readonly pollIntervalMs: number;
  readonly pollBudget: PollBudget | undefined;
  readonly limits: TaskLimits;
  readonly maxInputRounds: number;
  readonly principal: (authInfo: AuthInfo | undefined) => string;
}

/** The options with their defaults, checked. */
export function resolveTasksOptions(options: McpTasksOptions): ResolvedTasksOptions {
  const { tools, required } = options;
  let isTaskTool: (name: string, info: TaskCallInfo) => boolean;
  if (tools === 'all') isTaskTool = () => true;
  else if (typeof tools === 'function') isTaskTool = tools;
  else if (Array.isArray(tools)) {
    const names = new Set(tools as readonly string[]);
    isTaskTool = (name) => names.has(name);
  } else throw new TypeError("mountMcp: tasks.tools must be 'all', an array of tool names or a function");
  let isRequired: (name: string) => boolean = () => false;
  if (typeof required === 'function') isRequired = required;
  else if (Array.isArray(required)) {
    const names = new Set(required as readonly string[]);
    isRequired = (name) => names.has(name);
  } else if (required !== undefined)
    throw new TypeError('mountMcp: tasks.required must be an array of tool names or a function');
  const pollIntervalMs = integer('tasks.pollIntervalMs', options.pollIntervalMs, 1_000, 1, maxTtlMs);
  const pollBurst = options.pollBurst === false ? undefined : integer('tasks.pollBurst', options.pollBurst, 10, 1, 1e6);
  return {
    isTaskTool,
    isRequired,
    store: options.store,
    ttlMs: integer('tasks.ttlMs', options.ttlMs, 3_600_000, 1, maxTtlMs),
    pollIntervalMs,
    pollBudget: pollBurst === undefined ? undefined : { burst: pollBurst, refillMs: pollIntervalMs / 2 },
    limits: {
      maxTasks: integer('tasks.maxTasks', options.maxTasks, 10_000, 1, Number.MAX_SAFE_INTEGER),
      maxTasksPerPrincipal: integer(
        'tasks.maxTasksPerPrincipal',
        options.maxTasksPerPrincipal,
        1_000,
        1,
        Number.MAX_SAFE_INTEGER,
      ),
    },
    maxInputRounds: integer('tasks.maxInputRounds', options.maxInputRounds, 16, 1, 1_000),
    principal: options.principal ?? defaultPrincipal,
  };
}

function integer(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`mountMcp: ${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

function defaultPrincipal(authInfo: AuthInfo | undefined): string {
  if (authInfo === undefined) return '';
  const token = createHash('sha256').update(String(authInfo.token)).digest('base64url');
  return `${String(authInfo.clientId)}\u0000${token}`;
}

/** A JSON-RPC error a handler throws: the SDK answers it with this code, message and data. */
class TaskRequestError extends Error {
  readonly code: number;
  readonly data: unknown;

  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.code = code;
    this.data = data;
  }
}

const missingCapability = 'Missing required client capability';
const requiredCapabilities = { requiredCapabilities: { extensions: { [tasksExtensionId]: {} } } };
const taskNotFound = 'Failed to retrieve task: Task not found';
/** Task ids one listen stream may name. */
const maxListenTaskIds = 100;

/** The request a server is made for, as the extension needs to know it. */
export interface TaskExchange {
  /** The parsed JSON-RPC request. */
  readonly body: unknown;
  /** True for the transport's own runs of a task's call: they are served as plain calls. */
  readonly internal: boolean;
  readonly remoteAddress: string;
  /** Work to do once the answer is written (a task's run); the route handler awaits it. */
  afterResponse: (() => Promise<void>) | undefined;
}

/** The SDK's view of the request a handler serves (the parts used here). */
interface HandlerContext {
  mcpReq: { envelope?: Record<string, unknown>; inputResponses?: Record<string, unknown> };
  http?: { authInfo?: AuthInfo; req?: globalThis.Request };
}

/** The low-level `Server` of SDK 2.x, as far as the extension uses it. */
interface LowLevelServer {
  registerCapabilities(capabilities: Record<string, unknown>): void;
  setRequestHandler<P>(
    method: string,
    schemas: { params: unknown },
    handler: (params: P, ctx: HandlerContext) => unknown,
  ): void;
  removeRequestHandler(method: string): void;
  fallbackRequestHandler?: (
    request: { method: string; params?: Record<string, unknown> },
    ctx: HandlerContext,
  ) => Promise<unknown>;
}

/** A Standard Schema (what the SDK's `setRequestHandler` takes) for params that carry a string `taskId`. */
const taskIdParams = {
  '~standard': {
    version: 1,
    vendor: 'mummyx',
    validate(value: unknown) {
      const taskId = (value as { taskId?: unknown } | null)?.taskId;
      return typeof taskId === 'string'
        ? { value }
        : { issues: [{ message: 'params.taskId must be a string', path: ['taskId'] }] };
    },
  },
};

export interface TasksExtensionContext {
  /** The mount's path: the default store's name, shared by the mounts of that path in the process. */
  readonly name: string;
  readonly bus: ChannelEventBus;
  readonly fetch: InternalFetch;
  readonly log: (message: string) => void;
}

/** The Tasks extension of one mount on one thread. */
export class TasksExtension {
  readonly #options: ResolvedTasksOptions;
  readonly #shared: SharedTaskStore | undefined;
  readonly store: TaskStore;
  readonly #runner: TaskRunner;
  readonly #listens: TaskListenStreams;

  constructor(options: ResolvedTasksOptions, context: TasksExtensionContext) {
    this.#options = options;
    this.#shared = options.store === undefined ? openSharedTaskStore(context.name, context.log) : undefined;
    this.store = options.store ?? this.#shared!.store;
    this.#runner = new TaskRunner({
      store: this.store,
      fetch: context.fetch,
      maxInputRounds: options.maxInputRounds,
      log: context.log,
    });
    this.#listens = new TaskListenStreams(this.store, context.bus);
  }

  /** Tasks whose tool runs on this thread now. */
  get runningCount(): number {
    return this.#runner.runningCount;
  }

  /**
   * Readies a server made for one 2026-07-28 request: advertises the
   * extension, installs the `tasks/*` handler the request needs, and turns
   * a `tools/call` that becomes a task into the task's creation.
   */
  prepare(server: McpServerLike, exchange: TaskExchange): void {
    const core = lowLevelServer(server);
    if (core === undefined) return;
    core.registerCapabilities({ extensions: { [tasksExtensionId]: {} } });
    const message = exchange.body as { method?: unknown; params?: unknown } | null;
    switch (message?.method) {
      case 'tasks/get':
        core.setRequestHandler('tasks/get', { params: taskIdParams }, (params: { taskId: string }, ctx) =>
          this.#get(params.taskId, ctx),
        );
        return;
      case 'tasks/update':
        core.setRequestHandler(
          'tasks/update',
          { params: taskIdParams },
          (params: { taskId: string; inputResponses?: unknown }, ctx) => this.#update(params, ctx, exchange),
        );
        return;
      case 'tasks/cancel':
        core.setRequestHandler('tasks/cancel', { params: taskIdParams }, (params: { taskId: string }, ctx) =>
          this.#cancel(params.taskId, ctx),
        );
        return;
      case 'tools/call':
        if (!exchange.internal) this.#interceptCall(server, core, objectOr(message.params), exchange);
        return;
      default:
        return;
    }
  }

  /** Whether a 2026-07-28 request is a `subscriptions/listen` that names tasks (served by `listen`). */
  isTaskListen(body: unknown): boolean {
    const message = body as { method?: unknown; params?: { notifications?: { taskIds?: unknown } } } | null;
    return message?.method === 'subscriptions/listen' && message.params?.notifications?.taskIds !== undefined;
  }

  /**
   * Serves a `subscriptions/listen` that names tasks: -32021 unless the
   * request declares the extension, then a stream carrying
   * `notifications/tasks` for the caller's tasks among them and the rest of
   * the filter as the SDK serves it.
   */
  async listen(
    body: unknown,
    headers: { get(name: string): string | null },
    authInfo: AuthInfo | undefined,
    signal: AbortSignal,
    stream: {
      keepAliveMs: number;
      maxSubscriptions: number;
      capabilities: () => Promise<Record<string, unknown>>;
    },
  ): Promise<Response> {
    const message = body as { id: RequestId; params?: Record<string, unknown> };
    const id = message.id;
    if (headers.get('mcp-protocol-version') === null || headers.get('mcp-method') === null) {
      return errorResponse(400, id, -32020, 'Bad Request: MCP-Protocol-Version and Mcp-Method headers are required');
    }
    const params = objectOr(message.params);
    if (!declaresExtension(objectOr(params['_meta']))) {
      return errorResponse(400, id, -32021, missingCapability, requiredCapabilities);
    }
    const filter = listenFilterOf(params['notifications']);
    if (filter === undefined) {
      return errorResponse(
        200,
        id,
        -32602,
        `Invalid params: 'notifications' must be a valid filter with at most ${maxListenTaskIds} taskIds`,
      );
    }
    if (this.#listens.size >= stream.maxSubscriptions)
      return errorResponse(200, id, -32603, 'Subscription limit reached');
    const principal = this.#options.principal(authInfo);
    // Each id once: on a worker every get is a round trip to the store's thread.
    const found = await Promise.all([...new Set(filter.taskIds)].map((taskId) => this.store.get(taskId)));
    const taskIds = found.filter((task) => task?.principal === principal).map((task) => task!.taskId);
    return this.#listens.open({
      subscriptionId: id,
      filter,
      taskIds,
      capabilities: await stream.capabilities(),
      serverInfo: undefined,
      keepAliveMs: stream.keepAliveMs,
      signal,
    });
  }

  /** Ends this thread's listen streams and runs (their tasks fail: the server is closing), then lets go of the store. */
  async close(): Promise<void> {
    this.#listens.closeAll();
    await this.#runner.close();
    await this.#shared?.release({ code: -32603, message: 'The server closed before the task finished' });
  }

  #interceptCall(
    server: McpServerLike,
    core: LowLevelServer,
    params: Record<string, unknown>,
    exchange: TaskExchange,
  ): void {
    const name = params['name'];
    if (typeof name !== 'string') return;
    const declared = declaresExtension(objectOr(params['_meta']));
    if (!declared) {
      if (!this.#options.isRequired(name)) return;
      core.removeRequestHandler('tools/call');
      core.fallbackRequestHandler = () =>
        Promise.reject(new TaskRequestError(-32021, missingCapability, requiredCapabilities));
      return;
    }
    const info: TaskCallInfo = {
      arguments: isObject(params['arguments']) ? params['arguments'] : undefined,
      inputResponses: isObject(params['inputResponses']) ? params['inputResponses'] : undefined,
    };
    if (!this.#options.isTaskTool(name, info) || !hasTool(server, name)) return;
    core.removeRequestHandler('tools/call');
    core.fallbackRequestHandler = (request, ctx) => this.#create(request, ctx, exchange);
  }

  /** Stores the task, hands the run to the route, and answers the `CreateTaskResult`. */
  async #create(
    request: { method: string; params?: Record<string, unknown> },
    ctx: HandlerContext,
    exchange: TaskExchange,
  ): Promise<unknown> {
    if (request.method !== 'tools/call') throw new TaskRequestError(-32601, 'Method not found');
    const authInfo = ctx.http?.authInfo;
    const webRequest = ctx.http?.req;
    // The params as the client sent them (the SDK hands handlers `_meta` without the envelope keys),
    // without the legacy `task` hint.
    const params = { ...objectOr((exchange.body as { params?: unknown }).params) };
    delete params['task'];
    const call: TaskCall = {
      params,
      headers: replayHeaders(webRequest?.headers),
      url: webRequest?.url ?? 'http://localhost/mcp',
      remoteAddress: exchange.remoteAddress,
    };
    const { ttlMs, pollIntervalMs, limits } = this.#options;
    let task;
    try {
      task = await this.store.create(
        {
          taskId: newTaskId(),
          principal: this.#options.principal(authInfo),
          ttlMs,
          pollIntervalMs,
          runner: threadRunner,
          call,
        },
        limits,
      );
    } catch (error) {
      if (isTaskLimitError(error)) {
        // The store's message starts with "too many tasks: " already.
        throw new TaskRequestError(-32000, `${error.message.charAt(0).toUpperCase()}${error.message.slice(1)}`, {
          reason: 'task_limit',
          scope: error.scope,
          limit: error.limit,
        });
      }
      throw new TaskRequestError(-32603, `The task could not be stored: ${errorMessage(error)}`);
    }
    exchange.afterResponse = () => this.#runner.start(task, authInfo);
    return createTaskResult(task);
  }

  async #get(taskId: string, ctx: HandlerContext): Promise<unknown> {
    requireExtension(ctx);
    const budget = this.#options.pollBudget;
    const polled =
      budget === undefined
        ? await this.store.get(taskId).then((task) => (task === undefined ? undefined : { task, retryAfterMs: 0 }))
        : await this.store.poll(taskId, budget);
    if (!this.#isCallers(polled?.task, ctx)) throw new TaskRequestError(-32602, taskNotFound);
    if (polled.retryAfterMs > 0) {
      throw new TaskRequestError(
        -32000,
        `Too many polls: poll this task every ${this.#options.pollIntervalMs} ms (pollIntervalMs)`,
        { reason: 'poll_rate', retryAfterMs: polled.retryAfterMs },
      );
    }
    return detailedTask(polled.task);
  }

  async #update(
    params: { taskId: string; inputResponses?: unknown },
    ctx: HandlerContext,
    exchange: TaskExchange,
  ): Promise<unknown> {
    const task = await this.#callersTask(params.taskId, ctx);
    const authInfo = ctx.http?.authInfo;
    // The SDK lifts `inputResponses` out of params (its multi-round-trip handling) and hands them over here.
    const responses = ctx.mcpReq.inputResponses ?? objectOr(params.inputResponses);
    const answered = await this.store.answerInput(task.taskId, responses, threadRunner);
    const resume = answered?.resume;
    if (answered !== undefined && resume !== undefined) {
      exchange.afterResponse = () => this.#runner.resume(answered.task, resume, authInfo);
    }
    return {};
  }

  async #cancel(taskId: string, ctx: HandlerContext): Promise<unknown> {
    await this.#callersTask(taskId, ctx);
    await this.store.cancel(taskId, 'Cancelled by the client');
    return {};
  }

  /** Whether `task` exists and belongs to the caller: another principal's task is "not found" to it. */
  #isCallers(task: TaskRecord | undefined, ctx: HandlerContext): task is TaskRecord {
    return task !== undefined && task.principal === this.#options.principal(ctx.http?.authInfo);
  }

  /** The caller's task `taskId`, once the request declares the extension; -32602 for a task it does not own. */
  async #callersTask(taskId: string, ctx: HandlerContext): Promise<TaskRecord> {
    requireExtension(ctx);
    const task = await this.store.get(taskId);
    if (!this.#isCallers(task, ctx)) throw new TaskRequestError(-32602, taskNotFound);
    return task;
  }
}

/** 128 bits from the CSPRNG, base64url. */
function newTaskId(): string {
  return randomBytes(16).toString('base64url');
}

function requireExtension(ctx: HandlerContext): void {
  if (!declaresExtension(ctx.mcpReq.envelope ?? {})) {
    throw new TaskRequestError(-32021, missingCapability, requiredCapabilities);
  }
}

/** Whether a request's `_meta` envelope declares the Tasks extension in its client capabilities. */
function declaresExtension(meta: Record<string, unknown>): boolean {
  const capabilities = objectOr(meta[clientCapabilitiesMetaKey]);
  const extension = objectOr(capabilities['extensions'])[tasksExtensionId];
  return typeof extension === 'object' && extension !== null;
}

function lowLevelServer(server: McpServerLike): LowLevelServer | undefined {
  const core = protocolServerOf(server) as Partial<LowLevelServer>;
  return typeof core.registerCapabilities === 'function' &&
    typeof core.setRequestHandler === 'function' &&
    typeof core.removeRequestHandler === 'function'
    ? (core as LowLevelServer)
    : undefined;
}

/**
 * Whether the server has a tool of that name: an `McpServer` says so (the
 * schema the SDK's own entry reads for `Mcp-Param-*` checks); a low-level
 * `Server` is taken at its word. A call of an unknown tool stays a plain
 * call, so its error comes back at once.
 */
function hasTool(server: McpServerLike, name: string): boolean {
  const lookup = (server as { toolInputSchemaJson?: (name: string) => unknown }).toolInputSchemaJson;
  return typeof lookup !== 'function' || lookup.call(server, name) !== undefined;
}

/** The headers a run of the call must carry: the MCP ones, as the client sent them. */
function replayHeaders(headers: Headers | undefined): Record<string, string> {
  const replayed: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
  };
  if (headers === undefined) return replayed;
  for (const [name, value] of headers) {
    if (
      name === 'mcp-protocol-version' ||
      name === 'mcp-method' ||
      name === 'mcp-name' ||
      name.startsWith('mcp-param-')
    ) {
      replayed[name] = value;
    }
  }
  return replayed;
}

function listenFilterOf(value: unknown): ListenFilter | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const filter = value as Record<string, unknown>;
  const taskIds: unknown = filter['taskIds'];
  if (!isStringArray(taskIds) || taskIds.length > maxListenTaskIds) return undefined;
  const flags = ['toolsListChanged', 'promptsListChanged', 'resourcesListChanged'] as const;
  if (flags.some((flag) => filter[flag] !== undefined && typeof filter[flag] !== 'boolean')) return undefined;
  const uris: unknown = filter['resourceSubscriptions'];
  if (uris !== undefined && !isStringArray(uris)) return undefined;
  return {
    ...(filter['toolsListChanged'] === true ? { toolsListChanged: true } : {}),
    ...(filter['promptsListChanged'] === true ? { promptsListChanged: true } : {}),
    ...(filter['resourcesListChanged'] === true ? { resourcesListChanged: true } : {}),
    ...(uris === undefined ? {} : { resourceSubscriptions: uris }),
    taskIds,
  };
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function errorResponse(status: number, id: RequestId, code: number, message: string, data?: unknown): Response {
  return Response.json(
    { jsonrpc: '2.0', id, error: { code, message, ...(data === undefined ? {} : { data }) } },
    { status },
  );
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
