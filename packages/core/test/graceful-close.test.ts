import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { test } from 'node:test';
import { createServer, MxError, Router } from '@mummyx/core';
import { RawConnection, collectLogs, deferred, httpGet, onlyResponse, rawRequest, start, within } from './helpers.js';

/** Resolves with the error code of a connection attempt, or 'connected'. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
}

/** A router whose /slow handler signals when it starts and answers ~300 ms later. */
function slowRouter(): { router: Router; slowStarted: Promise<void>; finished: string[] } {
  const started = deferred();
  const finished: string[] = [];
  const router = new Router();
  router.get('/slow', async (request) => {
    started.resolve();
    await delay(300);
    finished.push('slow');
    request.respond(200, {}, 'slow done');
  });
  router.get('/fast', (request) => request.respond(200, {}, 'fast'));
  return { router, slowStarted: started.promise, finished };
}

test('lets an in-flight request finish with Connection: close, then resolves close()', async (t) => {
  const { router, slowStarted, finished } = slowRouter();
  const { server, url } = await start(t, router);
  const pending = httpGet(`${url}/slow`);
  await slowStarted;
  let closeResolved = false;
  const closing = server.close().then(() => {
    closeResolved = true;
  });
  const response = await pending;
  assert.equal(response.status, 200);
  assert.equal(response.body.toString(), 'slow done');
  assert.equal(response.headers.connection, 'close');
  await within(3_000, closing, 'close()');
  assert.deepEqual(finished, ['slow']);
  assert.equal(closeResolved, true);
});

test('answers an in-flight request on a keep-alive connection, then closes that connection', async (t) => {
  const { router, slowStarted } = slowRouter();
  const { server, port } = await start(t, router);
  const connection = await RawConnection.open(t, port);
  connection.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
  await slowStarted;
  const closing = server.close();
  const response = await connection.readResponse();
  assert.equal(response.body, 'slow done');
  assert.equal(response.header('connection'), 'close');
  assert.equal(await connection.waitClosed(), true);
  await within(3_000, closing, 'close()');
});

test('answers a connection made once close() has started with 503, Retry-After and Connection: close, then stops listening', async (t) => {
  const { router, slowStarted } = slowRouter();
  const { server, url, port } = await start(t, router);
  const pending = httpGet(`${url}/slow`);
  await slowStarted;
  const closing = server.close();
  const late = onlyResponse(
    (await rawRequest(port, 'GET /fast HTTP/1.1\r\nHost: x\r\n\r\n', { halfClose: true })).text,
  );
  assert.equal(late.status, 503);
  assert.equal(late.header('retry-after'), '1');
  assert.equal(late.header('connection'), 'close');
  assert.equal((await pending).status, 200);
  await within(3_000, closing, 'close()');
  assert.equal(await tryConnect(port), 'ECONNREFUSED');
});

test('closes idle keep-alive connections right away', async (t) => {
  const { router } = slowRouter();
  const { server, port } = await start(t, router, { closeTimeoutMs: 10_000, keepAliveTimeoutMs: 10_000 });
  const connection = await RawConnection.open(t, port);
  connection.write('GET /fast HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal((await connection.readResponse()).body, 'fast');
  const closing = server.close();
  // Well before closeTimeoutMs and keepAliveTimeoutMs: the idle connection is not waited for.
  assert.equal(await connection.waitClosed(3_000), true);
  await within(3_000, closing, 'close()');
});

test('closes a connection that never sent a request right away', async (t) => {
  const { router } = slowRouter();
  const { server, port } = await start(t, router, { closeTimeoutMs: 2_500 });
  const connection = await RawConnection.open(t, port);
  await delay(50);
  const closing = server.close();
  // Well before closeTimeoutMs: a connection with no request in progress is idle.
  assert.equal(await connection.waitClosed(1_500), true);
  await within(3_000, closing, 'close()');
});

test('closes a connection whose handler never responds once closeTimeoutMs passes', async (t) => {
  const started = deferred();
  const logs = collectLogs();
  const { server, port } = await start(
    t,
    async () => {
      started.resolve();
      await new Promise(() => {});
    },
    { closeTimeoutMs: 300, logHandler: logs.logHandler, logLevel: 'info' },
  );
  const connection = await RawConnection.open(t, port);
  connection.write('GET /forever HTTP/1.1\r\nHost: x\r\n\r\n');
  await started.promise;
  await within(3_000, server.close(), 'close()');
  assert.equal(await connection.waitClosed(3_000), true);
  assert.ok(
    logs.lines.some(({ level, message }) => level === 'info' && message.includes('still open')),
    `logged: ${JSON.stringify(logs.lines)}`,
  );
});

test('returns the same promise from repeated close() calls', async (t) => {
  const { server } = await start(t, slowRouter().router);
  const first = server.close();
  assert.equal(server.close(), first);
  await within(3_000, first, 'close()');
});

test('resolves close() on a server that never listened, and refuses to listen afterwards', async () => {
  const server = createServer((request) => request.respond(200));
  await within(1_000, server.close(), 'close()');
  await assert.rejects(server.listen(0), (error) => error instanceof MxError && error.code === 'MX_ERR_SERVER_CLOSED');
});

test('refuses a second listen() with MX_ERR_SERVER_LISTENING', async (t) => {
  const { server } = await start(t, slowRouter().router);
  await assert.rejects(
    server.listen(0),
    (error) => error instanceof MxError && error.code === 'MX_ERR_SERVER_LISTENING',
  );
});

test('counts handled requests, requests in flight and open connections in stats()', async (t) => {
  const { router, slowStarted } = slowRouter();
  const { server, url } = await start(t, router);
  const pending = httpGet(`${url}/slow`);
  await slowStarted;
  const during = server.stats();
  assert.equal(during.requestsHandled, 1);
  assert.equal(during.requestsInFlight, 1);
  assert.equal(during.connections, 1);
  await pending;
  await within(3_000, server.close(), 'close()');
  assert.equal(server.stats().requestsInFlight, 0);
  assert.equal(server.stats().requestsHandled, 1);
});

test('reports no open connections once close() has resolved', async (t) => {
  const { router, slowStarted } = slowRouter();
  const { server, url } = await start(t, router);
  const pending = httpGet(`${url}/slow`);
  await slowStarted;
  await pending;
  await within(3_000, server.close(), 'close()');
  assert.equal(server.stats().connections, 0);
});
