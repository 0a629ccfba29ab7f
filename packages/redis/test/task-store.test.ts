import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, it, type TestContext } from 'node:test';
import { isTaskLimitError } from '@mummyx/mcp-transport';
import { RedisTaskLimitError, RedisTaskStore } from '@mummyx/redis';
import { RedisProcess, until, withoutRedis } from './redis-server.js';

const limits = { maxTasks: 100, maxTasksPerPrincipal: 100 };
const call = { params: { name: 'slow' }, headers: {}, url: 'http://127.0.0.1/mcp', remoteAddress: '127.0.0.1' };
const newTask = (taskId: string, extra: { principal?: string; ttlMs?: number } = {}) => ({
  taskId,
  principal: extra.principal ?? 'alice',
  ttlMs: extra.ttlMs ?? 60_000,
  pollIntervalMs: 100,
  runner: 'test',
  call,
});

/** Stores standing for three nodes (each its own connections). */
function stores(t: TestContext, url: string, count: number, leaseMs?: number): RedisTaskStore[] {
  const made = Array.from({ length: count }, () => new RedisTaskStore({ url, ...(leaseMs ? { leaseMs } : {}) }));
  t.after(() => Promise.all(made.map((store) => store.close())));
  return made;
}

describe('RedisTaskStore', { skip: withoutRedis }, () => {
  it('finds a task through any node as soon as create resolves; cancel from one reaches a watcher on another', async (t) => {
    const redis = await RedisProcess.start(t);
    const [a, b, c] = stores(t, redis.url, 3) as [RedisTaskStore, RedisTaskStore, RedisTaskStore];
    const created = await a.create(newTask('t1'), limits);
    assert.equal(created.status, 'working');
    assert.deepEqual(await b.get('t1'), created);
    assert.deepEqual((await c.poll('t1', { burst: 5, refillMs: 100 }))?.task, created);
    const heard: Array<string | undefined> = [];
    const stop = a.watch('t1', (task) => heard.push(task?.status));
    await until(() => heard.length === 1, 'the first state');
    assert.equal((await b.update('t1', 'half way'))?.statusMessage, 'half way');
    assert.equal((await c.cancel('t1', 'Cancelled by the client'))?.status, 'cancelled');
    await until(() => heard.includes('cancelled'), 'the cancel on the watcher of another node');
    assert.deepEqual(heard, ['working', 'working', 'cancelled']);
    const late = await a.complete('t1', { result: { content: [] } });
    assert.equal(late?.status, 'cancelled', 'a terminal state is final');
    stop();
    assert.equal(await b.get('missing'), undefined);
    assert.equal(await b.cancel('missing', 'x'), undefined);
  });

  it('counts limits over live tasks of every node, in all and per principal', async (t) => {
    const redis = await RedisProcess.start(t);
    const [a, b] = stores(t, redis.url, 2) as [RedisTaskStore, RedisTaskStore];
    const small = { maxTasks: 3, maxTasksPerPrincipal: 2 };
    await a.create(newTask('p1', { principal: 'alice' }), small);
    await b.create(newTask('p2', { principal: 'alice' }), small);
    await assert.rejects(b.create(newTask('p3', { principal: 'alice' }), small), (error: unknown) => {
      assert.ok(error instanceof RedisTaskLimitError);
      assert.equal(error.scope, 'principal');
      assert.equal(error.code, 'MX_ERR_TASK_LIMIT');
      // The transport recognises it as its own limit refusal (-32000 task_limit to the client).
      assert.ok(isTaskLimitError(error));
      return true;
    });
    await a.create(newTask('p4', { principal: 'bob' }), small);
    await assert.rejects(a.create(newTask('p5', { principal: 'carol' }), small), { scope: 'server', limit: 3 });
    assert.equal(await b.expire('p1'), true);
    assert.equal(await b.expire('p1'), false);
    await a.create(newTask('p6', { principal: 'carol' }), small);
    await assert.rejects(a.create(newTask('p6'), limits), /exists/);
  });

  it('lets Redis expire a task after its ttl: gone everywhere, its watchers told, its place in the limits freed', async (t) => {
    const redis = await RedisProcess.start(t);
    const [a, b] = stores(t, redis.url, 2) as [RedisTaskStore, RedisTaskStore];
    const one = { maxTasks: 1, maxTasksPerPrincipal: 1 };
    await a.create(newTask('short', { ttlMs: 300 }), one);
    const heard: Array<string | undefined> = [];
    b.watch('short', (task) => heard.push(task?.status));
    await assert.rejects(b.create(newTask('other'), one), { scope: 'server' });
    await until(() => heard.length === 2, 'the watcher to hear the end');
    assert.deepEqual(heard, ['working', undefined]);
    await until(async () => (await a.get('short')) === undefined, 'Redis to delete it');
    await b.create(newTask('other'), one);
  });

  it('parks a task for input on one node and resumes it once, through another, when every request is answered', async (t) => {
    const redis = await RedisProcess.start(t);
    const [a, b] = stores(t, redis.url, 2) as [RedisTaskStore, RedisTaskStore];
    await a.create(newTask('in'), limits);
    const asked = await a.requestInput('in', {
      inputRequests: { confirm: { method: 'elicitation/create' }, name: { method: 'elicitation/create' } },
      requestState: 'state-1',
    });
    assert.equal(asked?.status, 'input_required');
    assert.deepEqual(Object.keys(asked?.inputRequests ?? {}), ['confirm', 'name']);
    const partial = await b.answerInput('in', { confirm: { action: 'accept' }, unknown: 1 }, 'node-b');
    assert.equal(partial?.resume, undefined);
    assert.deepEqual(Object.keys(partial?.task.inputRequests ?? {}), ['name']);
    const done = await b.answerInput('in', { name: { action: 'accept', content: { name: 'x' } } }, 'node-b');
    assert.equal(done?.task.status, 'working');
    assert.equal(done?.task.runner, 'node-b');
    assert.deepEqual(done?.resume, {
      inputResponses: { confirm: { action: 'accept' }, name: { action: 'accept', content: { name: 'x' } } },
      requestState: 'state-1',
    });
    const again = await b.answerInput('in', { name: { action: 'accept' } }, 'node-b');
    assert.equal(again?.resume, undefined, 'resumed exactly once');
    const second = await b.requestInput('in', { inputRequests: { confirm: {} }, requestState: undefined });
    assert.deepEqual(Object.keys(second?.inputRequests ?? {}), ['confirm~2'], 'a key is never asked twice');
  });

  it('answers polls within the budget and says when to come back past it, on every node alike', async (t) => {
    const redis = await RedisProcess.start(t);
    const [a, b] = stores(t, redis.url, 2) as [RedisTaskStore, RedisTaskStore];
    await a.create(newTask('poll'), limits);
    const budget = { burst: 2, refillMs: 1_000 };
    assert.equal((await a.poll('poll', budget))?.retryAfterMs, 0);
    assert.equal((await b.poll('poll', budget))?.retryAfterMs, 0);
    const third = await a.poll('poll', budget);
    assert.ok(third !== undefined && third.retryAfterMs > 0 && third.retryAfterMs <= 1_000, `${third?.retryAfterMs}`);
    assert.equal(await b.poll('missing', budget), undefined);
  });

  it('fails the working tasks of a node killed mid-task within a bounded time, and leaves tasks waiting for input alone', async (t) => {
    const redis = await RedisProcess.start(t);
    // The same lease as the node's (fixtures/task-node.ts): 1.5 s, swept every 0.75 s.
    const [survivor] = stores(t, redis.url, 1, 1_500) as [RedisTaskStore];
    const fixture = fileURLToPath(new URL('./fixtures/task-node.js', import.meta.url));
    const child = spawn(process.execPath, [fixture, redis.url, 'doomed'], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let output = '';
    for await (const chunk of child.stdout) {
      output += String(chunk);
      if (output.includes('created doomed')) break;
    }
    await survivor.create(newTask('waiting'), limits);
    await survivor.requestInput('waiting', { inputRequests: { q: {} }, requestState: undefined });
    const heard: Array<string | undefined> = [];
    survivor.watch('doomed', (task) => heard.push(task?.status));
    // Longer than the lease: had the node stopped renewing it, its task would have failed by now.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.equal((await survivor.get('doomed'))?.status, 'working', 'alive and renewing: left alone');
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
    const killedAt = Date.now();
    await until(async () => (await survivor.get('doomed'))?.status === 'failed', 'the task to fail', 15_000);
    // Lease plus a sweep (about 2.3 s) when the machine is idle; the bound leaves room for a busy one.
    const elapsedMs = Date.now() - killedAt;
    assert.ok(elapsedMs < 10_000, `failed ${elapsedMs} ms after the kill`);
    const failed = await survivor.get('doomed');
    assert.match(failed?.error?.message ?? '', /stopped before it finished/);
    await until(() => heard.includes('failed'), 'the watcher to hear it');
    assert.equal((await survivor.get('waiting'))?.status, 'input_required');
  });
});
