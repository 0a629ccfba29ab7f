// A request body that stops, or trickles slower than `minBodyBytesPerSecond`, is answered 408
// after `bodyTimeoutMs` and its connection closes, instead of holding a connection until
// requestTimeoutMs (300 s). Time the server itself does not read does not count against the client.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Router } from '@mummyx/core';
import { RawConnection, start } from './helpers.js';

function echoRouter(): Router {
  const router = new Router();
  router.post('/echo', (request) => request.respond(200, {}, `got ${request.body?.length ?? 0} bytes`));
  router.post(
    '/stream-late',
    async (request) => {
      // Not reading for a while: the client's bytes wait in the server's buffers.
      await delay(900);
      let size = 0;
      for await (const chunk of request.bodyStream) size += (chunk as Buffer).length;
      request.respond(200, {}, `streamed ${size} bytes`);
    },
    { body: 'stream' },
  );
  return router;
}

test('a body that stops arriving gets 408 after bodyTimeoutMs and its connection closes', async (t) => {
  const { server, port } = await start(t, echoRouter(), { bodyTimeoutMs: 300 });
  const connection = await RawConnection.open(t, port);
  connection.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789');
  const response = await connection.readResponse({ timeoutMs: 5_000 });
  assert.equal(response.status, 408);
  assert.equal(response.header('connection'), 'close');
  assert.equal(await connection.waitClosed(), true);
  assert.equal(server.stats().bodyTimeouts, 1);
});

test('a body that trickles slower than minBodyBytesPerSecond gets 408', async (t) => {
  const { server, port } = await start(t, echoRouter(), { bodyTimeoutMs: 1_000, minBodyBytesPerSecond: 1_000 });
  const connection = await RawConnection.open(t, port);
  connection.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n');
  // One byte every 40 ms: never silent for bodyTimeoutMs, about 25 bytes/s.
  const trickle = setInterval(() => {
    if (!connection.isClosed) connection.write('x');
  }, 40);
  t.after(() => clearInterval(trickle));
  const response = await connection.readResponse({ timeoutMs: 5_000 });
  clearInterval(trickle);
  assert.equal(response.status, 408);
  assert.match(response.body, /bytes\/s/);
  assert.equal(server.stats().bodyTimeouts, 1);
});

test('a body sent at a steady pace, slow but over the minimum, is received whole', async (t) => {
  const { server, port } = await start(t, echoRouter(), { bodyTimeoutMs: 1_000, minBodyBytesPerSecond: 1_000 });
  const connection = await RawConnection.open(t, port);
  connection.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 20000\r\n\r\n');
  for (let i = 0; i < 20; i++) {
    connection.write('y'.repeat(1_000));
    await delay(50);
  }
  const response = await connection.readResponse({ timeoutMs: 5_000 });
  assert.equal(response.status, 200);
  assert.equal(response.body, 'got 20000 bytes');
  assert.equal(server.stats().bodyTimeouts, 0);
});

test('a stream-bodied handler that does not read for a while is not the client being slow', async (t) => {
  const { server, port } = await start(t, echoRouter(), { bodyTimeoutMs: 300 });
  const connection = await RawConnection.open(t, port);
  const body = 'z'.repeat(200_000);
  connection.write(`POST /stream-late HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  const response = await connection.readResponse({ timeoutMs: 5_000 });
  assert.equal(response.status, 200);
  assert.equal(response.body, `streamed ${body.length} bytes`);
  assert.equal(server.stats().bodyTimeouts, 0);
});

test('bodyTimeoutMs 0 waits for a silent body (until requestTimeoutMs)', async (t) => {
  const { server, port } = await start(t, echoRouter(), { bodyTimeoutMs: 0 });
  const connection = await RawConnection.open(t, port);
  connection.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n0123456789');
  assert.equal(await connection.quietFor(800), true);
  connection.write('0123456789');
  assert.equal((await connection.readResponse()).body, 'got 20 bytes');
  assert.equal(server.stats().bodyTimeouts, 0);
});
