import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { threadId } from 'node:worker_threads';
import type { Redis } from 'ioredis';
import { ClientHolder, type RedisClientOptions } from './client-holder.js';
import { positive, stderrRedisLog } from './connection.js';
import { RedisScript } from './redis-script.js';
import {
  applyTaskEdit,
  newTaskRecord,
  TaskLimitError,
  taskEdits,
  type InputResume,
  type InputRound,
  type NewTask,
  type PollBudget,
  type TaskEdit,
  type TaskError,
  type TaskLimits,
  type TaskListener,
  type TaskOutcome,
  type TaskPoll,
  type TaskRecord,
} from '@mummyx/mcp-transport';

export interface RedisTaskStoreOptions extends RedisClientOptions {
  /**
   * How long a store's lease on the tasks it runs lasts without renewal
   * (renewed every third of it): the tasks of a thread or node that died are
   * failed within about 1.5 times this. Default 10 000.
   */
  leaseMs?: number;
}

/** A `RedisTaskStore` refused a new task: the transport's `TaskLimitError` (`scope` says which limit). */
export class RedisTaskLimitError extends TaskLimitError {}

/** A record read back from JSON: every optional field present (as undefined when absent). */
function recordOf(json: string): TaskRecord {
  const parsed = JSON.parse(json) as TaskRecord;
  return {
    ...parsed,
    statusMessage: parsed.statusMessage,
    runner: parsed.runner,
    inputRequests: parsed.inputRequests,
    round: parsed.round,
    result: parsed.result,
    error: parsed.error,
  };
}

/** Redis's clock in ms, for every lease and expiry score (nodes' clocks may differ). */
const nowLua = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)";

/**
 * KEYS: task, all tasks (zset id → expiry), the principal's tasks (zset), the
 * creator's running set, the runners (zset instance → lease end).
 * ARGV: record, ttlMs, maxTasks, maxTasksPerPrincipal, taskId, instance, leaseMs.
 */
const createScript = new RedisScript(`${nowLua}
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if redis.call('EXISTS', KEYS[1]) == 1 then return 'exists' end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then return 'server' end
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[4]) then return 'principal' end
local ttl = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'v', 1, 'r', ARGV[1], 'o', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('ZADD', KEYS[2], now + ttl, ARGV[5])
redis.call('ZADD', KEYS[3], now + ttl, ARGV[5])
if redis.call('PTTL', KEYS[3]) < ttl then redis.call('PEXPIRE', KEYS[3], ttl) end
redis.call('SADD', KEYS[4], ARGV[5])
redis.call('ZADD', KEYS[5], now + tonumber(ARGV[7]), ARGV[6])
return 'ok'`);

/**
 * Compare-and-set of a task's record. KEYS: task, change channel.
 * ARGV: expected version, new record, running-set prefix, taskId, new owner ('' keeps, '-' none).
 */
const changeScript = new RedisScript(`
if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'r', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'v', 1)
if ARGV[5] ~= '' then
  local owner = redis.call('HGET', KEYS[1], 'o')
  if owner then redis.call('SREM', ARGV[3] .. owner, ARGV[4]) end
  if ARGV[5] == '-' then redis.call('HDEL', KEYS[1], 'o')
  else redis.call('HSET', KEYS[1], 'o', ARGV[5]) redis.call('SADD', ARGV[3] .. ARGV[5], ARGV[4]) end
end
redis.call('PUBLISH', KEYS[2], ARGV[2])
return 1`);

/** A poll against the task's token bucket. KEYS: task. ARGV: burst, refillMs. Returns [record, retryAfterMs]. */
const pollScript = new RedisScript(`${nowLua}
local fields = redis.call('HMGET', KEYS[1], 'r', 't', 'a')
if not fields[1] then return false end
local burst = tonumber(ARGV[1])
local refill = math.max(tonumber(ARGV[2]), 1)
local tokens = burst
if fields[2] then tokens = math.min(burst, tonumber(fields[2]) + (now - tonumber(fields[3])) / refill) end
local retry = 0
if tokens >= 1 then tokens = tokens - 1 else retry = math.ceil((1 - tokens) * refill) end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'a', now)
return {fields[1], retry}`);

/** Renews a runner's lease. KEYS: runners. ARGV: instance, leaseMs. */
const leaseScript = new RedisScript(`${nowLua}
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return 1`);

/**
 * Takes up to ARGV[2] runners whose lease ended, giving the caller ARGV[1] ms
 * to fail their tasks before another sweeper may take them again.
 */
const claimDeadScript = new RedisScript(`${nowLua}
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
for _, runner in ipairs(dead) do redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), runner) end
return dead`);

const gone: TaskError = {
  code: -32603,
  message: 'The server running this task stopped before it finished',
};

/**
 * The MCP Tasks extension's `TaskStore` in Redis, for servers on several
 * nodes: a task created through one node is polled, answered and cancelled
 * through any other. Make one in the app module (`mountMcp({ tasks: { store:
 * new RedisTaskStore({ url }) } })`): every thread gets its own, connected on
 * first use.
 *
 * - `create` resolves once Redis holds the task (one script: limits counted
 *   over live tasks, the record written with its ttl), so a `get` through any
 *   node finds it; Redis deletes it `ttlMs` after creation.
 * - Changes are compare-and-set on a version, retried on conflict, and
 *   published on the task's channel, which `watch` subscribes to (a watcher
 *   also hears `undefined` when the task's ttl runs out).
 * - Each store renews a lease for the tasks it runs; a store whose lease
 *   ends (its thread or node died) has its `working` tasks failed by the
 *   next store that sweeps (every half lease), so no task stays `working`.
 */
export class RedisTaskStore {
  readonly #client: ClientHolder;
  readonly #leaseMs: number;
  readonly #prefix: string;
  readonly #instance = `${hostname()}:${process.pid}:${threadId}:${randomBytes(4).toString('hex')}`;
  readonly #options: RedisTaskStoreOptions;
  #subscriber: Redis | undefined;
  readonly #watchers = new Map<string, Set<TaskListener>>();
  #timers: NodeJS.Timeout[] | undefined;
  #closed = false;

  constructor(options: RedisTaskStoreOptions = {}) {
    this.#options = options;
    this.#client = new ClientHolder(options, 'task store');
    this.#leaseMs = positive('leaseMs', options.leaseMs, 10_000);
    this.#prefix = `${this.#client.keyPrefix}tasks:`;
  }

  #key(taskId: string): string {
    return `${this.#prefix}task:${taskId}`;
  }

  #channel(taskId: string): string {
    return `${this.#prefix}changed:${taskId}`;
  }

  get #runningPrefix(): string {
    return `${this.#prefix}running:`;
  }

  get #runners(): string {
    return `${this.#prefix}runners`;
  }

  /** Lease renewal and sweeping start with the first use of the store. */
  get #redis(): Redis {
    if (this.#timers === undefined && !this.#closed) {
      const renew = setInterval(() => this.#renewLease(), Math.max(10, Math.floor(this.#leaseMs / 3)));
      const sweep = setInterval(() => void this.sweep(), Math.max(10, Math.floor(this.#leaseMs / 2)));
      renew.unref();
      sweep.unref();
      this.#timers = [renew, sweep];
    }
    return this.#client.redis;
  }

  async create(task: NewTask, limits: TaskLimits): Promise<TaskRecord> {
    const record = newTaskRecord(task, Date.now());
    const principalKey = `${this.#prefix}of:${task.principal}`;
    const answer = await createScript.run(
      this.#redis,
      [this.#key(task.taskId), `${this.#prefix}all`, principalKey, this.#runningPrefix + this.#instance, this.#runners],
      [
        JSON.stringify(record),
        Math.max(1, Math.floor(task.ttlMs)),
        limits.maxTasks,
        limits.maxTasksPerPrincipal,
        task.taskId,
        this.#instance,
        this.#leaseMs,
      ],
    );
    if (answer === 'server') throw new RedisTaskLimitError('server', limits.maxTasks);
    if (answer === 'principal') throw new RedisTaskLimitError('principal', limits.maxTasksPerPrincipal);
    if (answer === 'exists') throw new RangeError(`task ${task.taskId} exists`);
    return record;
  }

  async get(taskId: string): Promise<TaskRecord | undefined> {
    const json = await this.#redis.hget(this.#key(taskId), 'r');
    return json === null ? undefined : recordOf(json);
  }

  async poll(taskId: string, budget: PollBudget): Promise<TaskPoll | undefined> {
    const answer = await pollScript.run(this.#redis, [this.#key(taskId)], [budget.burst, budget.refillMs]);
    if (!Array.isArray(answer)) return undefined;
    return { task: recordOf(String(answer[0])), retryAfterMs: Number(answer[1]) };
  }

  update(taskId: string, statusMessage: string): Promise<TaskRecord | undefined> {
    return this.#change(taskId, taskEdits.update(statusMessage));
  }

  requestInput(taskId: string, round: InputRound): Promise<TaskRecord | undefined> {
    return this.#change(taskId, taskEdits.requestInput(round));
  }

  async answerInput(
    taskId: string,
    inputResponses: Readonly<Record<string, unknown>>,
    runner: string,
  ): Promise<{ task: TaskRecord; resume: InputResume | undefined } | undefined> {
    let resume: InputResume | undefined;
    // A retried change starts over: only the round that wins the compare-and-set resumes.
    const task = await this.#change(taskId, (record) => {
      resume = undefined;
      return taskEdits.answerInput(inputResponses, runner, (resumed) => (resume = resumed))(record);
    });
    return task === undefined ? undefined : { task, resume };
  }

  complete(taskId: string, outcome: TaskOutcome): Promise<TaskRecord | undefined> {
    return this.#change(taskId, taskEdits.complete(outcome));
  }

  cancel(taskId: string, statusMessage: string): Promise<TaskRecord | undefined> {
    return this.#change(taskId, taskEdits.cancel(statusMessage));
  }

  async expire(taskId: string): Promise<boolean> {
    const key = this.#key(taskId);
    const redis = this.#redis;
    const record = await this.get(taskId);
    const batch = redis.pipeline().hget(key, 'o').del(key).zrem(`${this.#prefix}all`, taskId);
    if (record !== undefined) batch.zrem(`${this.#prefix}of:${record.principal}`, taskId);
    const results = (await batch.exec()) ?? [];
    const owner = results[0]?.[1];
    const deleted = results[1]?.[1] === 1;
    if (typeof owner === 'string') await redis.srem(this.#runningPrefix + owner, taskId);
    if (deleted) await redis.publish(this.#channel(taskId), '');
    return deleted;
  }

  watch(taskId: string, listener: TaskListener): () => void {
    let live = true;
    let lastUpdatedAtMs = -1;
    let expiry: NodeJS.Timeout | undefined;
    const deliver: TaskListener = (task) => {
      if (!live) return;
      if (task !== undefined) {
        // The first read and the published changes may cross: never go back in time.
        if (task.lastUpdatedAtMs < lastUpdatedAtMs) return;
        lastUpdatedAtMs = task.lastUpdatedAtMs;
        if (expiry === undefined) {
          expiry = setTimeout(() => deliver(undefined), Math.max(0, task.createdAtMs + task.ttlMs - Date.now()));
          expiry.unref();
        }
      }
      try {
        listener(task);
      } catch (error) {
        (this.#options.log ?? stderrRedisLog)('error', `a task watcher threw: ${String(error)}`);
      }
      if (task === undefined) stop();
    };
    const stop = (): void => {
      if (!live) return;
      live = false;
      clearTimeout(expiry);
      const listeners = this.#watchers.get(taskId);
      listeners?.delete(deliver);
      if (listeners?.size === 0) {
        this.#watchers.delete(taskId);
        this.#subscriber?.unsubscribe(this.#channel(taskId)).catch(() => {});
      }
    };
    let listeners = this.#watchers.get(taskId);
    const isFirst = listeners === undefined;
    if (listeners === undefined) this.#watchers.set(taskId, (listeners = new Set()));
    listeners.add(deliver);
    const subscriber = this.#openSubscriber();
    const subscribed = isFirst ? subscriber.subscribe(this.#channel(taskId)) : Promise.resolve();
    subscribed
      .then(() => this.get(taskId))
      .then(deliver, (error: unknown) => {
        (this.#options.log ?? stderrRedisLog)('error', `watching task ${taskId}: ${String(error)}`);
      });
    return stop;
  }

  /**
   * Fails the `working` tasks of every runner whose lease ended (a thread or
   * node that died); resolves with how many. Runs every half lease by itself.
   */
  async sweep(): Promise<number> {
    if (this.#closed) return 0;
    const redis = this.#client.redis;
    let failed = 0;
    try {
      const dead = (await claimDeadScript.run(redis, [this.#runners], [this.#leaseMs, 100])) as string[];
      for (const runner of dead) {
        const runningKey = this.#runningPrefix + runner;
        for (const taskId of await redis.smembers(runningKey)) {
          const task = await this.#change(taskId, taskEdits.abandon(gone));
          if (task?.status === 'failed' && task.error === gone) failed++;
        }
        await redis.pipeline().del(runningKey).zrem(this.#runners, runner).exec();
      }
    } catch (error) {
      (this.#options.log ?? stderrRedisLog)('error', `sweeping tasks of stopped runners: ${String(error)}`);
    }
    return failed;
  }

  /** Stops renewing this store's lease (its running tasks fail at the next sweep anywhere) and closes its connections. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers ?? []) clearInterval(timer);
    if (this.#timers !== undefined) await this.#client.redis.zadd(this.#runners, 0, this.#instance).catch(() => 0);
    this.#subscriber?.disconnect();
    await this.#client.close();
  }

  #renewLease(): void {
    leaseScript.run(this.#client.redis, [this.#runners], [this.#instance, this.#leaseMs]).catch(() => {});
  }

  #openSubscriber(): Redis {
    if (this.#subscriber !== undefined) return this.#subscriber;
    const subscriber = this.#client.redis.duplicate();
    subscriber.on('error', () => {});
    subscriber.on('message', (channel: string, payload: string) => {
      const taskId = channel.slice(`${this.#prefix}changed:`.length);
      const listeners = this.#watchers.get(taskId);
      if (listeners === undefined) return;
      const task = payload === '' ? undefined : recordOf(payload);
      for (const listener of [...listeners]) listener(task);
    });
    return (this.#subscriber = subscriber);
  }

  /** Applies `edit` with compare-and-set, retried while other writers win. */
  async #change(taskId: string, edit: TaskEdit): Promise<TaskRecord | undefined> {
    const redis = this.#redis;
    const key = this.#key(taskId);
    for (let attempt = 0; attempt < 100; attempt++) {
      const [version, json] = await redis.hmget(key, 'v', 'r');
      if (version == null || json == null) return undefined;
      const record = recordOf(json);
      const next = applyTaskEdit(record, edit, Date.now());
      if (next === undefined) return record;
      let owner = '';
      if (next.status !== 'working') owner = '-';
      else if (record.status !== 'working') owner = this.#instance;
      const ok = await changeScript.run(
        redis,
        [key, this.#channel(taskId)],
        [version, JSON.stringify(next), this.#runningPrefix, taskId, owner],
      );
      if (ok === 1) {
        if (owner === this.#instance) this.#renewLease();
        return next;
      }
    }
    throw new Error(`task ${taskId}: too many concurrent changes`);
  }
}
