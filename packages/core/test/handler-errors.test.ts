import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Router } from '@mummyx/core';
import { collectLogs, onlyResponse, parseResponses, rawRequest, start } from './helpers.js';

/** A router with one failing route per way a handler can fail, plus a healthy one. */
function failingRouter(): Router {
  const router = new Router();
  router.get('/throw', () => {
    throw new Error('boom-sync');
  });
  router.get('/reject', async () => {
    await Promise.resolve();
    throw new Error('boom-async');
  });
  router.get('/throw-string', () => {
    throw 'a plain string'; // eslint-disable-line @typescript-eslint/only-throw-error
  });
  router.get('/silent', () => {});
  router.get('/silent-async', async () => {
    await new Promise((resolve) => setTimeout(resolve, 10));
  });
  router.get('/throw-after-respond', (request) => {
    request.respond(200, {}, 'answered');
    throw new Error('late failure');
  });
  router.get('/ok', (request) => request.respond(200, {}, 'fine'));
  return router;
}

test('answers 500 when a handler throws and logs the error with its stack', async (t) => {
  const logs = collectLogs();
  const { url } = await start(t, failingRouter(), { logHandler: logs.logHandler, logLevel: 'error' });
  const response = await fetch(`${url}/throw`);
  assert.equal(response.status, 500);
  assert.equal(await response.text(), 'Internal Server Error');
  const line = logs.lines.find(({ message }) => message.includes('boom-sync'));
  assert.ok(line !== undefined, `logged: ${JSON.stringify(logs.lines)}`);
  assert.equal(line.level, 'error');
  assert.match(line.message, /GET \/throw HTTP\/1\.1/);
  assert.match(line.message, /\n\s+at /, 'the stack is in the line');
});

test('answers 500 when an async handler rejects and logs the error', async (t) => {
  const logs = collectLogs();
  const { url } = await start(t, failingRouter(), { logHandler: logs.logHandler, logLevel: 'error' });
  const response = await fetch(`${url}/reject`);
  assert.equal(response.status, 500);
  await response.arrayBuffer();
  assert.ok(logs.lines.some(({ level, message }) => level === 'error' && message.includes('boom-async')));
});

test('answers 500 when a handler throws a value that is not an Error', async (t) => {
  const logs = collectLogs();
  const { url } = await start(t, failingRouter(), { logHandler: logs.logHandler, logLevel: 'error' });
  const response = await fetch(`${url}/throw-string`);
  assert.equal(response.status, 500);
  await response.arrayBuffer();
  assert.ok(logs.lines.some(({ message }) => message.includes('a plain string')));
});

for (const path of ['/silent', '/silent-async']) {
  test(`answers 500 and logs 'without responding' when ${path.slice(1)} handler returns without responding`, async (t) => {
    const logs = collectLogs();
    const { url } = await start(t, failingRouter(), { logHandler: logs.logHandler, logLevel: 'error' });
    const response = await fetch(`${url}${path}`);
    assert.equal(response.status, 500);
    await response.arrayBuffer();
    const line = logs.lines.find(({ message }) => message.includes('without responding'));
    assert.ok(line !== undefined, `logged: ${JSON.stringify(logs.lines)}`);
    assert.equal(line.level, 'error');
    assert.ok(line.message.includes(`GET ${path} HTTP/1.1`), line.message);
  });
}

test('keeps the response and logs the error when a handler throws after responding', async (t) => {
  const logs = collectLogs();
  const { url } = await start(t, failingRouter(), { logHandler: logs.logHandler, logLevel: 'error' });
  const response = await fetch(`${url}/throw-after-respond`);
  assert.equal(response.status, 200);
  assert.equal(await response.text(), 'answered');
  assert.ok(logs.lines.some(({ message }) => message.includes('late failure')));
});

test('keeps serving on the same connection after every kind of handler failure', async (t) => {
  const { port } = await start(t, failingRouter());
  const paths = ['/throw', '/reject', '/throw-string', '/silent', '/silent-async', '/throw-after-respond'];
  const requests = paths.map((path) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`).join('');
  const { text } = await rawRequest(port, `${requests}GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, {
    idleMs: 2_000,
  });
  const statuses = parseResponses(text).map((response) => response.status);
  assert.deepEqual(statuses, [500, 500, 500, 500, 500, 200, 200]);
  assert.ok(text.endsWith('fine'));
});

test('answers 500 when the custom error handler itself throws', async (t) => {
  const router = failingRouter();
  router.error = () => {
    throw new Error('error handler broke');
  };
  const logs = collectLogs();
  const { url } = await start(t, router, { logHandler: logs.logHandler, logLevel: 'error' });
  const response = await fetch(`${url}/throw`);
  assert.equal(response.status, 500);
  await response.arrayBuffer();
  assert.ok(logs.lines.some(({ message }) => message.includes('error handler broke')));
});

test('still answers 500 when the log handler throws', async (t) => {
  const { url } = await start(t, failingRouter(), {
    logHandler: () => {
      throw new Error('log handler broke');
    },
    logLevel: 'debug',
  });
  const response = await fetch(`${url}/throw`);
  assert.equal(response.status, 500);
  await response.arrayBuffer();
  const after = await fetch(`${url}/ok`);
  assert.equal(await after.text(), 'fine');
});

test('sends nothing below logLevel to the log handler', async (t) => {
  const logs = collectLogs();
  const { port } = await start(t, failingRouter(), { logHandler: logs.logHandler, logLevel: 'error' });
  const { text } = await rawRequest(port, 'FOO / HTTP/1.1\r\nHost: x\r\n\r\n', { idleMs: 2_000 });
  assert.equal(onlyResponse(text).status, 501);
  assert.deepEqual(logs.lines, []);
});

test('logs the reason for a rejected request at debug level', async (t) => {
  const logs = collectLogs();
  const { port } = await start(t, failingRouter(), { logHandler: logs.logHandler, logLevel: 'debug' });
  const { text } = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', { idleMs: 2_000 });
  assert.equal(onlyResponse(text).status, 400);
  assert.ok(
    logs.lines.some(({ level, message }) => level === 'debug' && message.includes('Host')),
    `logged: ${JSON.stringify(logs.lines)}`,
  );
});

test('answers 500 when respond() fails in the socket layer and the error escapes the handler', async (t) => {
  // '\x01' passes validateHeaders but Node's writeHead throws ERR_INVALID_CHAR; the request is
  // already marked responded, so runHandler sends no 500 and the client waits forever.
  const { port } = await start(t, (request) => request.respond(200, { 'X-A': 'a\x01b' }, 'x'));
  const { text } = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', {
    idleMs: 1_000,
  });
  assert.equal(text === '' ? 0 : onlyResponse(text).status, 500);
});
