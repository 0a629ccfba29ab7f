import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createServer, type Server } from '@mummyx/core';
import { appUrl, jsonOf, poolOf, send, startThreaded, waitFor } from './threads-helpers.js';

/** Resolves with the error code of a TCP connection attempt to `port`, or 'connected'. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

function workersOf(server: Server): number {
  return server.stats().pool?.workers ?? 0;
}

test(
  'close() lets in-flight and queued requests finish with 200, then stops the workers and the listener',
  { timeout: 20_000 },
  async (t) => {
    const { server, port } = await startThreaded(t, { threads: 2, closeTimeoutMs: 5_000 });
    const sleeping = send(port, '/sleep?ms=500');
    const blocking = send(port, '/block?ms=500');
    await waitFor('both workers busy', () => poolOf(server).busyWorkers === 2);
    const queued = send(port, '/where');
    await waitFor('one queued request', () => poolOf(server).queuedRequests === 1);

    let closeResolved = false;
    const closing = server.close().then(() => (closeResolved = true));
    const [slept, blocked, served] = await Promise.all([sleeping, blocking, queued]);
    assert.equal(slept.status, 200);
    assert.equal(slept.body.toString(), 'slept 500 ms');
    assert.equal(blocked.status, 200);
    assert.equal(blocked.body.toString(), 'blocked 500 ms');
    assert.equal(served.status, 200);
    assert.equal(jsonOf(served).isMainThread, false);
    for (const reply of [slept, blocked, served]) assert.equal(reply.headers.connection, 'close');

    await closing;
    assert.ok(closeResolved);
    assert.equal(workersOf(server), 0, 'every worker is gone');
    assert.equal(await tryConnect(port), 'ECONNREFUSED', 'new connections are refused');
  },
);

test('close() answers new connections 503 while draining, and stops listening', { timeout: 20_000 }, async (t) => {
  const { server, port } = await startThreaded(t, { threads: 1, closeTimeoutMs: 5_000 });
  const inFlight = send(port, '/sleep?ms=600');
  await waitFor('the worker busy', () => poolOf(server).busyWorkers === 1);
  const closing = server.close();
  const late = await send(port, '/sleep?ms=1');
  assert.equal(late.status, 503);
  assert.equal(late.headers['retry-after'], '1');
  assert.equal((await inFlight).status, 200);
  await closing;
  assert.equal(workersOf(server), 0);
  assert.equal(await tryConnect(port), 'ECONNREFUSED');
});

test(
  'close() stops waiting for a handler that outlives closeTimeoutMs and terminates its worker',
  { timeout: 20_000 },
  async (t) => {
    // handlerTimeoutMs bounds how long the cut-off handler's timer outlives close() (see the test below).
    const { server, port } = await startThreaded(t, { threads: 1, closeTimeoutMs: 300, handlerTimeoutMs: 2_000 });
    const stuck = send(port, '/loop').then(
      (reply) => `status ${reply.status}`,
      (error: NodeJS.ErrnoException) => error.code ?? error.message,
    );
    await waitFor('the worker busy', () => poolOf(server).busyWorkers === 1);

    const started = performance.now();
    await server.close();
    const took = performance.now() - started;
    assert.ok(took >= 250, `close() returned after ${took} ms, before closeTimeoutMs`);
    assert.ok(took < 3_000, `close() took ${took} ms for a 300 ms closeTimeoutMs`);
    assert.equal(await stuck, 'ECONNRESET', 'the stuck request loses its connection');
    assert.equal(workersOf(server), 0, 'the endless worker was terminated');
    assert.equal(await tryConnect(port), 'ECONNREFUSED');
  },
);

test(
  'a process whose threaded server closed with a handler cut off exits at once, without a late handler timeout',
  {
    timeout: 20_000,
  },
  async (t) => {
    const child = spawn(
      process.execPath,
      [fileURLToPath(new URL('./fixtures/threads-close-exit.js', import.meta.url))],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill();
    });
    let output = '';
    let closedAt: number | undefined;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      output += chunk;
      if (closedAt === undefined && output.includes('closed ')) closedAt = performance.now();
    });
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const winner = await Promise.race([exited, delay(5_000).then(() => 'still running' as const)]);
    assert.ok(closedAt !== undefined, `the child closed its server: ${output}`);
    assert.notEqual(winner, 'still running', `the child was still alive 5 s after starting: ${output}`);
    const lingered = performance.now() - closedAt;
    assert.ok(lingered < 3_000, `the child lived ${Math.round(lingered)} ms after close()`);
    assert.deepEqual(winner, [0, null]);
    assert.doesNotMatch(output, /did not respond in time/, 'no handler timeout fires after close()');
  },
);

test('close() on a threaded server that never listened resolves and starts no workers', async () => {
  const server = createServer({ app: appUrl, threads: 2, logHandler: () => {} });
  await server.close();
  assert.equal(server.stats().pool, undefined);
  await server.close(); // idempotent
});
