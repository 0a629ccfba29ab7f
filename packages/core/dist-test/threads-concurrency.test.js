import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { test } from 'node:test';
import { poolOf, runLanes, send, startThreaded } from './threads-helpers.js';
const requests = 10_000;
const connections = 64;
test('each of 10,000 concurrent keep-alive POSTs over 64 connections gets its own body back (threads: 4)', { timeout: 60_000 }, async (t) => {
    const { server, port } = await startThreaded(t, { threads: 4 });
    const agent = new Agent({ keepAlive: true, maxSockets: connections });
    t.after(() => agent.destroy());
    const sockets = new Set();
    const threads = new Map();
    const echoed = new Set();
    const failures = [];
    await runLanes(connections, requests, async (i) => {
        // Distinct per request: the counter, random bytes, and a length that varies from 40 to ~3 KB.
        const body = `${i}:${randomBytes(12).toString('hex')}:${'x'.repeat((i * 37) % 3_000)}`;
        const reply = await send(port, '/echo', {
            body,
            headers: { 'Content-Type': 'text/plain' },
            agent,
        });
        sockets.add(reply.socket);
        const text = reply.body.toString('utf8');
        const hash = createHash('sha256').update(body).digest('hex');
        if (reply.status !== 200 || text !== body || reply.headers['x-body-sha256'] !== hash) {
            failures.push(`#${i}: status ${reply.status}, sent ${body.slice(0, 40)}…, got ${text.slice(0, 40)}…`);
            return;
        }
        echoed.add(text.slice(0, text.indexOf(':')));
        const thread = String(reply.headers['x-thread-id']);
        threads.set(thread, (threads.get(thread) ?? 0) + 1);
    });
    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} mismatched responses`);
    assert.equal(echoed.size, requests, 'every counter came back exactly once');
    assert.ok(sockets.size <= connections, `${sockets.size} sockets for ${connections} connections`);
    assert.ok(sockets.size >= connections / 2, `only ${sockets.size} connections were used`);
    assert.equal(threads.size, 4, `answered by threads ${[...threads.keys()].join(', ')}`);
    assert.ok(!threads.has('0'), 'no request ran on the main thread');
    const pool = poolOf(server);
    assert.equal(pool.workers, 4);
    assert.equal(pool.workerRestarts, 0);
    assert.equal(pool.queuedRequests, 0);
    assert.equal(server.stats().requestsHandled, requests);
});
//# sourceMappingURL=threads-concurrency.test.js.map