// examples/blocking.ts (Mummy's benchmark server): what its header says, run as a program with
// THREADS set the three ways it reads it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { examplePath, startProgram } from './start-program.js';

interface Stats {
  requestsHandled: number;
  pool?: { workers: number; busyWorkers: number; runTime: { count: number; p50: number } };
}

const alphabet = 'abcdefghijklmnopqrstuvwxyz';

async function statsOf(url: string): Promise<Stats> {
  return (await (await fetch(`${url}/stats`)).json()) as Stats;
}

test('THREADS=4: a fixed pool of 4; while /cpu holds a worker, / and /health still answer', async (t) => {
  const url = await startProgram(t, examplePath('blocking'), { env: { THREADS: '4' } });
  for (let i = 0; i < 5; i++) {
    const reply = await fetch(`${url}/`);
    assert.equal(reply.status, 200);
    assert.equal(await reply.text(), alphabet);
  }
  const { pool } = await statsOf(url);
  assert.equal(pool?.workers, 4);
  // Each GET / blocks its worker about 10 ms, as the pool measured it.
  assert.equal(pool.runTime.count, 5);
  assert.ok(pool.runTime.p50 >= 9.5, `GET / ran ${pool.runTime.p50} ms`);

  let isCpuDone = false;
  const cpu = fetch(`${url}/cpu?ms=3000`).then(async (response) => {
    const text = await response.text();
    isCpuDone = true;
    return text;
  });
  // The burn has started once a worker is busy (/stats answers on the IO thread).
  const deadline = Date.now() + 10_000;
  while ((await statsOf(url)).pool?.busyWorkers !== 1) {
    assert.ok(Date.now() < deadline, 'no worker became busy with /cpu');
    await delay(10);
  }
  assert.equal(await (await fetch(`${url}/`)).text(), alphabet);
  assert.equal(await (await fetch(`${url}/health`)).text(), 'ok\n');
  assert.equal(isCpuDone, false, 'both answered while /cpu was still burning its worker');
  assert.match(await cpu, /^burned 3000 ms \(\d+ spins\)\n$/);
});

test('THREADS=0 runs inline (no pool); THREADS=2-4 is an elastic pool starting at 2', async (t) => {
  const inline = await startProgram(t, examplePath('blocking'), { env: { THREADS: '0' } });
  // Each GET / holds the one thread about 10 ms: ten at once take 100 ms or more, one after another.
  const started = performance.now();
  const texts = await Promise.all(Array.from({ length: 10 }, async () => (await fetch(`${inline}/`)).text()));
  const elapsedMs = performance.now() - started;
  assert.deepEqual(new Set(texts), new Set([alphabet]));
  assert.ok(elapsedMs >= 95, `ten blocking requests on one thread took ${elapsedMs.toFixed(0)} ms`);
  const inlineStats = await statsOf(inline);
  assert.equal(inlineStats.pool, undefined, 'no pool');
  assert.ok(inlineStats.requestsHandled >= 10);

  const elastic = await startProgram(t, examplePath('blocking'), { env: { THREADS: '2-4' } });
  assert.equal(await (await fetch(`${elastic}/`)).text(), alphabet);
  const pool = (await statsOf(elastic)).pool;
  assert.ok(pool !== undefined);
  assert.equal(pool.workers, 2);
});

test('SIGINT closes it: the process exits 0', async (t) => {
  const child = spawn(process.execPath, [examplePath('blocking')], {
    env: { ...process.env, PORT: '0', THREADS: '2' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let output = '';
  for await (const chunk of child.stdout) {
    output += String(chunk);
    if (/listening on http:\/\/127\.0\.0\.1:\d+/.test(output)) break;
  }
  child.stdout.resume();
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  child.kill('SIGINT');
  assert.deepEqual(await exited, [0, null]);
});
