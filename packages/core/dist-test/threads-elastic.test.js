import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { poolOf, send, startThreaded, waitFor } from './threads-helpers.js';
test('an elastic pool grows to max under blocking load and shrinks back to min after idleTimeoutMs', { timeout: 30_000 }, async (t) => {
    const { server, port } = await startThreaded(t, { threads: { min: 1, max: 4, idleTimeoutMs: 300 } });
    assert.equal(poolOf(server).workers, 1, 'starts with min workers');
    let peakWorkers = 0;
    let peakBusy = 0;
    let sampling = true;
    const sampler = (async () => {
        while (sampling) {
            const pool = poolOf(server);
            peakWorkers = Math.max(peakWorkers, pool.workers);
            peakBusy = Math.max(peakBusy, pool.busyWorkers);
            await delay(10);
        }
    })();
    const replies = await Promise.all(Array.from({ length: 4 }, () => send(port, '/block?ms=1500')));
    sampling = false;
    await sampler;
    for (const reply of replies)
        assert.equal(reply.status, 200);
    assert.equal(peakWorkers, 4, 'the pool grew to max while every worker was busy');
    assert.ok(peakBusy >= 2, `${peakBusy} workers were busy at once`);
    const threads = new Set(replies.map((reply) => String(reply.headers['x-thread-id'])));
    assert.ok(threads.size >= 2, `the blocking requests ran on ${threads.size} thread(s)`);
    assert.ok(Math.max(...replies.map((reply) => reply.ms)) < 2_900, 'the four 1.5 s requests overlapped instead of queueing behind one worker');
    assert.ok(poolOf(server).workers > 1, 'the extra workers outlive the load by idleTimeoutMs');
    await waitFor('the pool back at min', () => poolOf(server).workers === 1, 5_000);
    await delay(500);
    assert.equal(poolOf(server).workers, 1, 'never below min');
    assert.equal(poolOf(server).workerRestarts, 0, 'idle retirement is not a restart');
    const after = await send(port, '/where');
    assert.equal(after.status, 200, 'the remaining worker still serves');
});
test('an elastic pool with min 0 starts a worker for the first request and lets it go when idle', { timeout: 30_000 }, async (t) => {
    const { server, port } = await startThreaded(t, { threads: { min: 0, max: 2, idleTimeoutMs: 200 } });
    assert.equal(poolOf(server).workers, 0);
    const reply = await send(port, '/where');
    assert.equal(reply.status, 200);
    assert.equal(JSON.parse(reply.body.toString()).isMainThread, false);
    await waitFor('no workers left', () => poolOf(server).workers === 0, 5_000);
    const again = await send(port, '/where');
    assert.equal(again.status, 200, 'a new worker starts on demand');
});
//# sourceMappingURL=threads-elastic.test.js.map