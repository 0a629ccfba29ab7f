// How worker threads are scheduled: their priority against the IO thread, and the event-loop
// turns a worker takes while it serves requests back to back.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Agent } from 'node:http';
import { connect } from 'node:net';
import { getPriority } from 'node:os';
import { test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { createServer, MxError } from '@mummyx/core';
import { openGate } from './fixtures/gate.js';
import { appUrl, poolOf, runLanes, send, startThreaded, waitFor } from './threads-helpers.js';

const linux = process.platform === 'linux';

/** The nice value of this test's main thread, which is also the server's IO thread. */
const niceOfProcess = (): number => getPriority();

/**
 * Sends GET requests for `paths` pipelined in one write on one connection and
 * returns the responses once what came back matches `done` (within `timeoutMs`).
 */
async function pipelined(
  t: TestContext,
  port: number,
  paths: string[],
  done: RegExp,
  timeoutMs: number,
): Promise<string[]> {
  const socket = connect(port, '127.0.0.1');
  t.after(() => socket.destroy());
  socket.on('error', () => {});
  let received = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (received += chunk));
  await once(socket, 'connect');
  socket.write(paths.map((path) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
  const deadline = performance.now() + timeoutMs;
  while (!done.test(received) && performance.now() < deadline) await delay(10);
  const responses = received.split(/(?=HTTP\/1\.1 )/);
  assert.equal(responses.length, paths.length, `${paths.length} responses: ${JSON.stringify(received)}`);
  return responses;
}

test('worker threads run at nice 10 by default; the IO thread keeps its own', { skip: !linux }, async (t) => {
  const { port } = await startThreaded(t, { threads: 2 });
  const ioNice = (await send(port, '/nice-inline')).body.toString();
  const replies = await Promise.all([send(port, '/nice'), send(port, '/nice')]);
  // A process already nicer than 10 keeps its own value: a thread's priority is only ever lowered.
  const expected = String(Math.max(10, niceOfProcess()));
  for (const reply of replies) {
    assert.equal(reply.headers['x-main-thread'], 'false');
    assert.equal(reply.body.toString(), expected, 'a worker thread runs at nice 10');
  }
  assert.equal(ioNice, String(niceOfProcess()), 'the IO thread is not lowered');
});

test('workerNice: 0 leaves worker threads at the IO thread priority', { skip: !linux }, async (t) => {
  const { port } = await startThreaded(t, { threads: 1, workerNice: 0 });
  const reply = await send(port, '/nice');
  assert.equal(reply.headers['x-main-thread'], 'false');
  assert.equal(reply.body.toString(), String(niceOfProcess()));
});

test('workerNice outside 0–19 or not an integer is refused', () => {
  for (const workerNice of [-1, 20, 2.5, Number.NaN]) {
    assert.throws(
      () => createServer({ app: appUrl, threads: 1, workerNice }),
      (error: unknown) =>
        error instanceof MxError && error.code === 'MX_ERR_OPTION_INVALID' && /workerNice/.test(error.message),
      `workerNice ${workerNice}`,
    );
  }
});

/**
 * Sends 400 requests to `path` over 4 keep-alive connections to one worker;
 * each leaves work behind on the worker's event loop, and `countPath` says
 * how much of it has run. Checks that at most `lag` were still waiting right
 * after the last response, and that all had run `settleMs` later.
 */
async function leftBehindRuns(
  t: TestContext,
  what: string,
  { path, countPath, lag, settleMs }: { path: string; countPath: string; lag: number; settleMs: number },
): Promise<void> {
  const { server, port } = await startThreaded(t, { threads: 1 });
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  t.after(() => agent.destroy());
  const total = 400;
  await runLanes(4, total, async () => {
    const reply = await send(port, path, { agent });
    assert.equal(reply.status, 200);
  });
  // Asked at once, on the same busy worker: only the last few may still be waiting.
  const count = Number((await send(port, countPath, { agent })).body.toString());
  assert.ok(count >= total - lag, `${count} of ${total} ${what} had run while requests kept coming`);
  await delay(settleMs);
  const settled = Number((await send(port, countPath, { agent })).body.toString());
  assert.equal(settled, total, `every one of the ${what} ran`);
  assert.equal(poolOf(server).workers, 1);
}

test('timers a handler leaves behind run while its worker serves requests back to back', { timeout: 30_000 }, (t) =>
  // A pending timer makes the worker turn its loop every 8 requests.
  leftBehindRuns(t, 'timers', { path: '/later', countPath: '/later-count', lag: 20, settleMs: 50 }),
);

test(
  'promises a handler leaves behind run while its worker serves requests back to back with a quiet event loop',
  { timeout: 30_000 },
  (t) =>
    // Nothing but promises is pending, so the worker turns its loop every 64 requests, and an
    // idle one within 50 ms.
    leftBehindRuns(t, 'promises', { path: '/promise-later', countPath: '/promise-count', lag: 64, settleMs: 100 }),
);

test('a queued request whose client disconnected is dropped without running', { timeout: 30_000 }, async (t) => {
  const { server, port } = await startThreaded(t, { threads: 1 });
  const blocker = send(port, '/block?ms=800');
  await waitFor('the worker to be busy', () => poolOf(server).busyWorkers === 1);
  // Five requests wait in the queue; their clients give up before the worker is free.
  const abandoned = Array.from({ length: 5 }, () =>
    send(port, '/tally', { timeoutMs: 150 }).then(
      () => 'answered',
      () => 'gave up',
    ),
  );
  const kept = send(port, '/tally');
  assert.deepEqual(await Promise.all(abandoned), Array(5).fill('gave up'));
  assert.equal((await blocker).status, 200);
  const reply = await kept;
  assert.equal(reply.status, 200);
  assert.equal(reply.body.toString(), '1', 'only the request whose client stayed ran');
  assert.equal((await send(port, '/tally-count')).body.toString(), '1');
  assert.equal(poolOf(server).queuedRequests, 0);
});

test('a pipelined request that waits in the queue is answered, in order', { timeout: 30_000 }, async (t) => {
  const { port } = await startThreaded(t, { threads: 1 });
  // The second request waits for the only worker, which the first holds for 300 ms; its response
  // has no socket of its own until the first response is written.
  const responses = await pipelined(t, port, ['/block?ms=300', '/tally'], /\r\n\r\n\d+$/, 5_000);
  assert.match(responses[0]!, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nblocked 300 ms$/);
  assert.match(responses[1]!, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n\d+$/);
});

test(
  'a request handed to a worker behind one that turns out slow is taken back and runs on another worker',
  { timeout: 30_000 },
  async (t) => {
    const gate = openGate();
    const { server, port } = await startThreaded(t, { threads: { min: 1, max: 2, idleTimeoutMs: 60_000 } });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    t.after(() => agent.destroy());
    // Quick answers make the only worker one that is handed its next requests in advance.
    for (let i = 0; i < 20; i++) assert.equal((await send(port, '/fast', { agent })).status, 200);
    const ranBefore = poolOf(server).runTime.count;
    // Parsed in one read: /fast is posted to the busy worker right behind the gated request.
    const pending = pipelined(t, port, ['/gate/wait', '/fast'], /\r\n\r\nfast$/, 60_000);
    await gate.arrivals(1);
    // The first worker is held at the gate until /fast has run: only another worker can run it.
    await waitFor(
      '/fast to run while the first worker is held',
      () => poolOf(server).runTime.count > ranBefore,
      30_000,
    );
    gate.open();
    const responses = await pending;
    const threadOf = (response: string): string => /\r\nx-thread-id: (\d+)\r\n/i.exec(response)?.[1] ?? '?';
    assert.match(responses[0]!, /\r\n\r\n\{"threadId":\d+,"isOpened":true\}$/);
    assert.match(responses[1]!, /\r\n\r\nfast$/);
    assert.notEqual(threadOf(responses[1]!), threadOf(responses[0]!), '/fast ran on the second worker');
    assert.equal(poolOf(server).workers, 2);
    assert.equal(poolOf(server).queuedRequests, 0);
  },
);

test(
  'one worker serving requests several per wake-up: 3,000 mixed requests over 32 connections each get their own answer',
  { timeout: 60_000 },
  async (t) => {
    const { server, port } = await startThreaded(t, { threads: 1 });
    const agent = new Agent({ keepAlive: true, maxSockets: 32 });
    t.after(() => agent.destroy());
    const failures: string[] = [];
    await runLanes(32, 3_000, async (i) => {
      if (i % 3 === 1) {
        // Answers from a later turn of the worker's event loop: a response, then a settlement.
        const reply = await send(port, '/sleep?ms=0', { agent });
        if (reply.body.toString() !== 'slept 0 ms') failures.push(`#${i}: ${reply.status} ${reply.body.toString()}`);
        return;
      }
      // One in 50 is too big for the shared-memory mailbox and goes through the worker's port.
      const body = `${i}:` + (i % 50 === 0 ? 'y'.repeat(100_000) : 'x'.repeat(i % 700));
      const reply = await send(port, '/echo', { body, headers: { 'Content-Type': 'text/plain' }, agent });
      const echoed = reply.body.toString();
      if (reply.status !== 200 || echoed !== body) failures.push(`#${i}: ${reply.status} ${echoed.slice(0, 30)}`);
    });
    assert.deepEqual(failures.slice(0, 5), []);
    assert.equal(poolOf(server).queuedRequests, 0);
    assert.equal(poolOf(server).busyWorkers, 0);
  },
);
