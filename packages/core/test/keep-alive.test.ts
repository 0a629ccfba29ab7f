import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { test } from 'node:test';
import type { Request } from '@mummyx/core';
import { RawConnection, deferred, parseResponses, rawRequest, start } from './helpers.js';

const echoPath = (request: Request): void => request.respond(200, {}, `path ${request.path}`);

test('keeps an HTTP/1.1 connection open across several requests', async (t) => {
  const { port } = await start(t, echoPath);
  const connection = await RawConnection.open(t, port);
  for (const path of ['/one', '/two', '/three', '/four']) {
    connection.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const response = await connection.readResponse();
    assert.equal(response.status, 200);
    assert.equal(response.body, `path ${path}`);
    assert.notEqual(response.header('connection')?.toLowerCase(), 'close');
    assert.equal(connection.isClosed, false);
  }
});

test('closes an HTTP/1.1 connection after answering a request with Connection: close', async (t) => {
  const { port } = await start(t, echoPath);
  const connection = await RawConnection.open(t, port);
  connection.write('GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const response = await connection.readResponse();
  assert.equal(response.body, 'path /last');
  assert.equal(response.header('connection')?.toLowerCase(), 'close');
  assert.equal(await connection.waitClosed(), true);
});

test('closes an HTTP/1.0 connection after one request by default', async (t) => {
  const { port } = await start(t, echoPath);
  const connection = await RawConnection.open(t, port);
  connection.write('GET /old HTTP/1.0\r\n\r\n');
  const response = await connection.readResponse();
  assert.equal(response.body, 'path /old');
  assert.equal(response.header('connection')?.toLowerCase(), 'close');
  assert.equal(await connection.waitClosed(), true);
});

test('keeps an HTTP/1.0 connection open when the client asks for keep-alive', async (t) => {
  const { port } = await start(t, echoPath);
  const connection = await RawConnection.open(t, port);
  for (const path of ['/a', '/b']) {
    connection.write(`GET ${path} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n`);
    const response = await connection.readResponse();
    assert.equal(response.body, `path ${path}`);
    assert.equal(response.header('connection')?.toLowerCase(), 'keep-alive');
  }
  assert.equal(connection.isClosed, false);
});

test('answers three pipelined requests sent in one write in order', async (t) => {
  // The first request is the slowest, so answering in completion order would reorder them.
  const delays: Record<string, number> = { '/1': 150, '/2': 50, '/3': 0 };
  const { port } = await start(t, async (request) => {
    await delay(delays[request.path] ?? 0);
    request.respond(200, {}, `answer ${request.path}`);
  });
  const pipelined =
    'GET /1 HTTP/1.1\r\nHost: x\r\n\r\n' +
    'GET /2 HTTP/1.1\r\nHost: x\r\n\r\n' +
    'GET /3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
  const { text, closed } = await rawRequest(port, pipelined, { idleMs: 2_000 });
  const responses = parseResponses(text);
  assert.deepEqual(
    responses.map((response) => response.body),
    ['answer /1', 'answer /2', 'answer /3'],
  );
  assert.equal(closed, true);
});

test('answers pipelined requests with bodies in order', async (t) => {
  const { port } = await start(t, (request) => request.respond(200, {}, `${request.path}:${request.body.toString()}`));
  const pipelined =
    'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc' +
    'POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\n' +
    'GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
  const { text } = await rawRequest(port, pipelined, { idleMs: 2_000 });
  assert.deepEqual(
    parseResponses(text).map((response) => response.body),
    ['/a:abc', '/b:de', '/c:'],
  );
});

test('sends 100 Continue before reading a body announced with Expect: 100-continue', async (t) => {
  const { port } = await start(t, (request) => request.respond(200, {}, `echo ${request.body.toString()}`));
  const connection = await RawConnection.open(t, port);
  connection.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
  const interim = await connection.readResponse();
  assert.equal(interim.statusLine, 'HTTP/1.1 100 Continue');
  connection.write('hello');
  const response = await connection.readResponse();
  assert.equal(response.status, 200);
  assert.equal(response.body, 'echo hello');
});

test('answers 413 without 100 Continue when Expect: 100-continue announces a body over maxBodyBytes', async (t) => {
  let calls = 0;
  const { port } = await start(
    t,
    (request) => {
      calls++;
      request.respond(200, {}, 'ok');
    },
    { maxBodyBytes: 10 },
  );
  const connection = await RawConnection.open(t, port);
  connection.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n');
  const response = await connection.readResponse();
  assert.equal(response.statusLine, 'HTTP/1.1 413 Payload Too Large');
  assert.equal(await connection.waitClosed(), true);
  assert.equal(connection.pending, '');
  assert.equal(calls, 0);
});

test('closes an idle keep-alive connection after keepAliveTimeoutMs', async (t) => {
  const { port } = await start(t, echoPath, { keepAliveTimeoutMs: 300 });
  const connection = await RawConnection.open(t, port);
  connection.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  const response = await connection.readResponse();
  assert.equal(response.status, 200);
  assert.equal(await connection.waitClosed(3_000), true);
});

// RFC 9112 §9.6: after a request with Connection: close (or an HTTP/1.0 request without
// keep-alive) the server answers it, closes, and ignores whatever was pipelined behind it.
// llhttp reports those extra bytes as HPE_CLOSED_CONNECTION through 'clientError'; they must not
// turn into a 400 for the request being answered.

test('answers a Connection: close request with an async handler even when another request is pipelined behind it', async (t) => {
  const seen: string[] = [];
  const { port } = await start(t, async (request) => {
    seen.push(request.path);
    await delay(100);
    request.respond(200, {}, `answer ${request.path}`);
  });
  const { text, closed } = await rawRequest(
    port,
    'GET /first HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n',
    { idleMs: 2_000 },
  );
  assert.deepEqual(
    parseResponses(text).map((response) => `${response.status} ${response.body}`),
    ['200 answer /first'],
  );
  assert.equal(closed, true);
  assert.deepEqual(seen, ['/first']);
});

test('answers an HTTP/1.0 request with an async handler even when another request is pipelined behind it', async (t) => {
  const { port } = await start(t, async (request) => {
    await delay(100);
    request.respond(200, {}, `answer ${request.path}`);
  });
  const { text, closed } = await rawRequest(port, 'GET /first HTTP/1.0\r\n\r\nGET /second HTTP/1.0\r\n\r\n', {
    idleMs: 2_000,
  });
  assert.deepEqual(
    parseResponses(text).map((response) => `${response.status} ${response.body}`),
    ['200 answer /first'],
  );
  assert.equal(closed, true);
});

test('answers every pipelined request up to the one with Connection: close, then closes', async (t) => {
  const seen: string[] = [];
  const { port } = await start(t, (request) => {
    seen.push(request.path);
    request.respond(200, {}, `answer ${request.path}`);
  });
  const { text, closed } = await rawRequest(
    port,
    'GET /1 HTTP/1.1\r\nHost: x\r\n\r\n' +
      'GET /2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' +
      'GET /3 HTTP/1.1\r\nHost: x\r\n\r\n',
    { idleMs: 2_000 },
  );
  const responses = parseResponses(text);
  assert.deepEqual(
    responses.map((response) => response.body),
    ['answer /1', 'answer /2'],
  );
  assert.equal(responses[1]?.header('connection'), 'close');
  assert.equal(closed, true);
  assert.deepEqual(seen, ['/1', '/2']);
});

test('counts no request in flight once the client has dropped a connection with pipelined requests', async (t) => {
  const started = deferred();
  const { server, port } = await start(t, async (request) => {
    if (request.path === '/slow') {
      started.resolve();
      await delay(200);
    }
    request.respond(200, {}, 'ok');
  });
  const connection = await RawConnection.open(t, port);
  connection.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /queued HTTP/1.1\r\nHost: x\r\n\r\n');
  await started.promise;
  connection.destroy();
  for (let i = 0; i < 20 && server.stats().connections > 0; i++) await delay(50);
  await delay(300);
  assert.equal(server.stats().connections, 0);
  assert.equal(server.stats().requestsInFlight, 0);
});
