import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openGate } from './fixtures/gate.js';
import { jsonOf, poolOf, type Reply, send, startThreaded, waitFor } from './threads-helpers.js';

function threadOf(reply: Reply): string {
  return String(reply.headers['x-thread-id']);
}

const crashes = [
  { route: '/crash-exit', how: 'calls process.exit(3)', log: /exited \(code 3\)/ },
  { route: '/crash-timer', how: 'throws from a timer', log: /timer exploded/ },
];

for (const crash of crashes) {
  test(
    `a worker whose handler ${crash.how} answers that request 500, spares requests on other workers and is replaced`,
    { timeout: 20_000 },
    async (t) => {
      const { server, port, logs } = await startThreaded(t, { threads: 3 });
      const blocking = send(port, '/block?ms=1000');
      const sleeping = send(port, '/sleep?ms=1000');
      await waitFor('two busy workers', () => poolOf(server).busyWorkers === 2);

      const crashed = await send(port, crash.route);
      assert.equal(crashed.status, 500);
      assert.equal(crashed.body.toString(), 'Internal Server Error\n');

      const [blocked, slept] = await Promise.all([blocking, sleeping]);
      assert.equal(blocked.status, 200);
      assert.equal(blocked.body.toString(), 'blocked 1000 ms');
      assert.equal(slept.status, 200);
      assert.equal(slept.body.toString(), 'slept 1000 ms');

      assert.equal(poolOf(server).workerRestarts, 1);
      assert.ok(
        logs.some((line) => crash.log.test(line)),
        `logs name the failure: ${JSON.stringify(logs)}`,
      );
      await waitFor('the pool back at 3 ready workers', () => poolOf(server).workers === 3);
      for (let i = 0; i < 6; i++) {
        const reply = await send(port, '/where');
        assert.equal(reply.status, 200);
        assert.equal(jsonOf(reply).isMainThread, false);
      }
      assert.equal(poolOf(server).workerRestarts, 1, 'healthy requests restart nothing');
    },
  );
}

test('requests queued behind a crashing worker are served by its replacement', { timeout: 20_000 }, async (t) => {
  const { server, port } = await startThreaded(t, { threads: 1 });
  const sleeping = send(port, '/sleep?ms=300');
  await waitFor('the worker busy', () => poolOf(server).busyWorkers === 1);
  const crashing = send(port, '/crash-exit');
  await waitFor('one queued request', () => poolOf(server).queuedRequests === 1);
  const waiting = send(port, '/where');
  await waitFor('two queued requests', () => poolOf(server).queuedRequests === 2);

  const [slept, crashed, served] = await Promise.all([sleeping, crashing, waiting]);
  assert.equal(slept.status, 200);
  assert.equal(crashed.status, 500);
  assert.equal(served.status, 200);
  assert.notEqual(threadOf(served), threadOf(slept), 'the queued request ran on the replacement worker');
  assert.equal(poolOf(server).workerRestarts, 1);
  assert.equal(poolOf(server).workers, 1);
});

test(
  'a fixed pool is back at full size after two workers crash at once',
  {
    timeout: 20_000,
  },
  async (t) => {
    const gate = openGate();
    const { server, port } = await startThreaded(t, { threads: 3 });
    const crashes = await Promise.all([send(port, '/crash-exit'), send(port, '/crash-exit')]);
    for (const crashed of crashes) assert.equal(crashed.status, 500);
    assert.equal(poolOf(server).workerRestarts, 2);
    await waitFor('the pool back at 3 workers', () => poolOf(server).workers === 3, 5_000);
    // Three workers really serve: each of three requests holds its worker until all three have
    // started, which only three live workers can do.
    const replies = await Promise.all(Array.from({ length: 3 }, () => send(port, '/gate/gather?n=3')));
    for (const reply of replies) {
      assert.equal(reply.status, 200);
      assert.equal(jsonOf<{ isGathered: boolean }>(reply).isGathered, true, 'the three ran at once');
    }
    assert.equal(new Set(replies.map(threadOf)).size, 3, 'three workers answered');
    assert.equal(gate.arrived, 3);
  },
);

test(
  'an endless handler gets 503 after handlerTimeoutMs, its worker is replaced and later requests succeed',
  { timeout: 20_000 },
  async (t) => {
    const { server, port, logs } = await startThreaded(t, { threads: 1, handlerTimeoutMs: 500 });
    const before = await send(port, '/where');
    assert.equal(before.status, 200);

    const stuck = send(port, '/loop');
    await waitFor('the worker busy', () => poolOf(server).busyWorkers === 1);
    const queued = send(port, '/where');

    const timedOut = await stuck;
    assert.equal(timedOut.status, 503);
    assert.equal(timedOut.headers['retry-after'], '1');
    assert.match(timedOut.body.toString(), /timed out/);
    assert.ok(timedOut.ms >= 450, `503 came after ${timedOut.ms} ms, before handlerTimeoutMs`);
    assert.ok(
      logs.some((line) => /did not respond in time/.test(line)),
      `logs name the timeout: ${JSON.stringify(logs)}`,
    );

    const afterwards = await queued;
    assert.equal(afterwards.status, 200, 'the request queued behind the endless handler is served');
    assert.notEqual(threadOf(afterwards), threadOf(before), 'by a new worker');
    assert.equal(poolOf(server).workerRestarts, 1);
    for (let i = 0; i < 5; i++) {
      const reply = await send(port, '/where');
      assert.equal(reply.status, 200);
      assert.equal(threadOf(reply), threadOf(afterwards));
    }
    assert.equal(poolOf(server).workers, 1);
  },
);

test(
  'a handler that responded and then hangs keeps its 200, and its worker is still replaced',
  { timeout: 20_000 },
  async (t) => {
    const { server, port } = await startThreaded(t, { threads: 1, handlerTimeoutMs: 2_000 });
    const reply = await send(port, '/respond-then-hang');
    assert.equal(reply.status, 200);
    assert.equal(reply.body.toString(), 'responded');
    // The handler never settles: a response held until it did would come out only when the
    // handler timeout ends the worker, and that has not happened yet.
    assert.equal(poolOf(server).workerRestarts, 0, 'the response did not wait for the handler to settle');

    await waitFor('the hung worker replaced', () => poolOf(server).workerRestarts === 1, 5_000);
    const next = await send(port, '/where');
    assert.equal(next.status, 200);
    assert.notEqual(threadOf(next), threadOf(reply));
  },
);

test(
  'past maxQueuedRequests requests get 503 with Retry-After, and the queued ones are served in order',
  { timeout: 20_000 },
  async (t) => {
    const gate = openGate();
    const { server, port } = await startThreaded(t, { threads: 1, maxQueuedRequests: 2 });
    let blockerDone = false;
    // Holds the only worker until the gate opens, after the refusals below.
    const blocking = send(port, '/gate/wait').finally(() => (blockerDone = true));
    await waitFor('the worker busy', () => poolOf(server).busyWorkers === 1);
    const first = send(port, '/sleep?ms=50');
    await waitFor('one queued request', () => poolOf(server).queuedRequests === 1);
    const second = send(port, '/sleep?ms=60');
    await waitFor('two queued requests', () => poolOf(server).queuedRequests === 2);

    const refused = await Promise.all([send(port, '/where'), send(port, '/where'), send(port, '/fast')]);
    for (const reply of refused) {
      assert.equal(reply.status, 503);
      assert.equal(reply.headers['retry-after'], '1');
      assert.match(reply.body.toString(), /busy/);
    }
    assert.equal(blockerDone, false, 'the 503s came while the worker was still blocked');
    assert.equal(poolOf(server).queuedRequests, 2, 'refused requests were not queued');

    gate.open();
    const [blocked, one, two] = await Promise.all([blocking, first, second]);
    assert.equal(blocked.status, 200);
    assert.equal(one.status, 200);
    assert.equal(one.body.toString(), 'slept 50 ms');
    assert.equal(two.status, 200);
    assert.equal(two.body.toString(), 'slept 60 ms');
    assert.ok(one.endedAt < two.endedAt, 'FIFO: the first queued request finished first');

    const after = await send(port, '/where');
    assert.equal(after.status, 200, 'once the queue drained, requests are accepted again');
    assert.equal(poolOf(server).workerRestarts, 0);
  },
);
