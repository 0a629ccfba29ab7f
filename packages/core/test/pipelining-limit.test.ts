// One connection pipelining many requests has at most `maxPipelinedRequests` of them running or
// waiting for a worker: the server stops reading it until answers go out, so other clients keep
// their share of the pool. Its answers still all come, in order.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { Router } from '@mummyx/core';
import { deferred, RawConnection, start } from './helpers.js';
import { send, startThreaded, waitFor } from './threads-helpers.js';

test('inline: at most maxPipelinedRequests of one connection run at once; all are answered in order', async (t) => {
  const gate = deferred();
  let started = 0;
  const router = new Router();
  router.get('/wait/:n', async (request) => {
    started++;
    await gate.promise;
    request.respond(200, {}, request.pathParams['n']);
  });
  const { port } = await start(t, router, { maxPipelinedRequests: 4 });
  const connection = await RawConnection.open(t, port);
  let pipelined = '';
  for (let i = 0; i < 200; i++) pipelined += `GET /wait/${i} HTTP/1.1\r\nHost: x\r\n\r\n`;
  connection.write(pipelined);
  await waitFor('four handlers started', () => started === 4);
  // Time for more to start, if the limit did not hold.
  assert.equal(await connection.quietFor(300), true);
  assert.equal(started, 4);
  gate.resolve();
  for (let i = 0; i < 200; i++) assert.equal((await connection.readResponse({ timeoutMs: 10_000 })).body, String(i));
  assert.equal(started, 200);
});

test('threaded: a client pipelining 300 requests does not push another client to the back of the queue', async (t) => {
  const { port } = await startThreaded(t, { threads: 2, maxPipelinedRequests: 4 });
  const flood = connect(port, '127.0.0.1');
  t.after(() => flood.destroy());
  let floodAnswered = 0;
  flood.on('data', (chunk: Buffer) => (floodAnswered += chunk.toString('latin1').split('HTTP/1.1 200').length - 1));
  flood.write('GET /sleep?ms=20 HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(300));
  await waitFor('the flood running', () => floodAnswered >= 4, 10_000);
  const other = await send(port, '/sleep?ms=20');
  assert.equal(other.status, 200);
  // Without the limit the other request waits behind every request of the flood (~290 of them).
  assert.ok(floodAnswered < 60, `${floodAnswered} flood requests were answered before the other client's`);
  await waitFor('every flood request answered', () => floodAnswered === 300, 30_000);
});
