import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { poolOf, runLanes, send, startThreaded } from './threads-helpers.js';
const warmup = 10_000;
const total = 100_000;
const lanes = 32;
const allowedGrowthMiB = 50;
const MiB = 1024 * 1024;
async function settledMemory() {
    // Without --expose-gc (the runner passes no node flags) gc is usually absent; then let the heap settle.
    globalThis.gc?.();
    await delay(200);
    return process.memoryUsage();
}
test(`memory after ${total.toLocaleString('en')} threaded requests stays within ${allowedGrowthMiB} MiB of memory after ${warmup.toLocaleString('en')}`, { timeout: 90_000 }, async (t) => {
    const { server, port } = await startThreaded(t, { threads: 2 });
    const agent = new Agent({ keepAlive: true, maxSockets: lanes });
    t.after(() => agent.destroy());
    const body = 'x'.repeat(1_024);
    let failures = 0;
    // A mix of the paths a request can take: small GETs, POSTs whose body crosses to the worker and back, 404s.
    const job = async (i) => {
        const kind = i % 4;
        const reply = kind === 0
            ? await send(port, '/echo', { body, agent })
            : await send(port, kind === 3 ? '/missing' : '/fast', { agent });
        if (reply.status !== (kind === 3 ? 404 : 200))
            failures++;
    };
    const started = performance.now();
    await runLanes(lanes, warmup, job);
    const before = await settledMemory();
    const warmupMs = performance.now() - started;
    await runLanes(lanes, total - warmup, (i) => job(warmup + i));
    const after = await settledMemory();
    const seconds = (performance.now() - started) / 1000;
    const growth = (after.rss - before.rss) / MiB;
    const report = `${total} requests in ${seconds.toFixed(1)} s (${Math.round(total / seconds)} req/s; warm-up ${Math.round(warmupMs)} ms); ` +
        `rss ${(before.rss / MiB).toFixed(1)} → ${(after.rss / MiB).toFixed(1)} MiB (${growth >= 0 ? '+' : ''}${growth.toFixed(1)}), ` +
        `heapUsed ${(before.heapUsed / MiB).toFixed(1)} → ${(after.heapUsed / MiB).toFixed(1)} MiB`;
    t.diagnostic(report);
    assert.equal(failures, 0, 'every request got its expected status');
    assert.equal(server.stats().requestsHandled, total);
    assert.equal(server.stats().requestsInFlight, 0);
    assert.equal(poolOf(server).queuedRequests, 0);
    assert.equal(poolOf(server).workerRestarts, 0);
    assert.ok(growth < allowedGrowthMiB, `rss grew by ${growth.toFixed(1)} MiB: ${report}`);
});
//# sourceMappingURL=threads-leak.test.js.map