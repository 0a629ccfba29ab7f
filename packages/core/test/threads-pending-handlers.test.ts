import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { test } from 'node:test';
import { createServer, Router } from '@mummyx/core';

const app = new URL('./fixtures/threads-streaming-app.js', import.meta.url);

function get(url: string, method = 'GET'): Promise<{ status: number; body: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ms: performance.now() - started }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timed out')));
    req.end();
  });
}

test('a worker whose handler streams past handlerTimeoutMs is left alone: its stream completes', async (t) => {
  const logs: string[] = [];
  const server = createServer({
    app,
    threads: 1,
    handlerTimeoutMs: 300,
    logLevel: 'info',
    logHandler: (_level, message) => logs.push(message),
  });
  const { url } = await server.listen(0);
  t.after(() => server.close());
  const reply = await get(`${url}/stream`);
  assert.equal(reply.status, 200);
  const ids = [...reply.body.matchAll(/^id: (\d+)$/gm)].map((match) => Number(match[1]));
  assert.deepEqual(ids, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'every event arrived');
  assert.equal(server.stats().pool?.workerRestarts, 0, 'the worker was not replaced');
  assert.ok(
    logs.some((line) => /still pending/.test(line)),
    `the long handler is logged: ${JSON.stringify(logs)}`,
  );
});

test('HEAD on an event-stream route gets the head and ends at once', async (t) => {
  const router = new Router();
  router.get('/events', (request) => {
    const stream = request.respondSSE();
    stream.send('never sent for HEAD');
  });
  const server = createServer(router, { logHandler: () => {} });
  const { url } = await server.listen(0);
  t.after(() => server.close());
  const reply = await get(`${url}/events`, 'HEAD');
  assert.equal(reply.status, 200);
  assert.equal(reply.body, '');
  assert.ok(reply.ms < 2_000, `HEAD finished in ${reply.ms} ms`);
  assert.equal(server.stats().streams, 0);
});
