// fetchHandler with plain web-standard handlers (no framework): what the web Request carries for
// each request shape, and how wrong answers from the handler are turned into 500s with a log line.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { createServer, fetchHandler, type FetchHandler } from '@mummyx/core';
import { exchange } from './fetch-helpers.js';
import { collectLogs, httpGet } from './helpers.js';

interface Seen {
  method: string;
  url: string;
  body: string | null;
  signal: { isAbortSignal: boolean; aborted: boolean };
}

/** Serves `handler` inline; `seen` collects what each web Request looked like. */
async function serve(t: TestContext, handler?: FetchHandler) {
  const seen: Seen[] = [];
  const logs = collectLogs();
  const describe: FetchHandler = async (request) => {
    seen.push({
      method: request.method,
      url: request.url,
      body: request.body === null ? null : await request.text(),
      signal: { isAbortSignal: request.signal instanceof AbortSignal, aborted: request.signal.aborted },
    });
    return new Response('ok');
  };
  const server = createServer(fetchHandler(handler ?? describe), { logLevel: 'error', logHandler: logs.logHandler });
  t.after(() => server.close());
  const { port, url } = await server.listen(0);
  return { port, url, seen, logs: logs.lines };
}

test('an absolute-form target is the URL as sent; HTTP/1.0 without Host gets localhost', async (t) => {
  const { port, seen } = await serve(t);
  await exchange(t, port, 'GET http://other.test:81/a/b?c=d HTTP/1.1\r\nHost: ignored.test\r\n\r\n');
  await exchange(t, port, 'GET /old?x HTTP/1.0\r\n\r\n');
  assert.deepEqual(
    seen.map((s) => s.url),
    ['http://other.test:81/a/b?c=d', 'http://localhost/old?x'],
  );
});

test('the web Request has a signal that has not aborted', async (t) => {
  const { url, seen } = await serve(t);
  await httpGet(url);
  assert.deepEqual(seen[0]?.signal, { isAbortSignal: true, aborted: false });
});

test('a body reaches POST as bytes; an empty body, or one sent with GET, is no body', async (t) => {
  const { port, url, seen } = await serve(t);
  await httpGet(`${url}/p`, { method: 'POST', body: 'payload' });
  await httpGet(`${url}/e`, { method: 'POST', body: '' });
  await exchange(t, port, 'GET /g HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody');
  await exchange(
    t,
    port,
    'PUT /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n',
  );
  assert.deepEqual(
    seen.map((s) => [s.method, s.body]),
    [
      ['POST', 'payload'],
      ['POST', null],
      ['GET', null],
      ['PUT', 'abcde'],
    ],
  );
});

test('TRACE, which a web Request cannot carry, gets 501 without running the handler', async (t) => {
  const { port, seen } = await serve(t);
  const response = await exchange(t, port, 'TRACE / HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal(response.status, 501);
  assert.match(response.body, /TRACE cannot be passed to a fetch handler/);
  assert.equal(seen.length, 0);
});

test('a handler that resolves to something other than a Response gets 500 and a log line', async (t) => {
  const { url, logs } = await serve(t, (() => Promise.resolve({ status: 200 })) as unknown as FetchHandler);
  const reply = await httpGet(url);
  assert.equal(reply.status, 500);
  assert.ok(
    logs.some((line) => line.level === 'error' && line.message.includes('must return a Response')),
    JSON.stringify(logs),
  );
});

test('Response.error() gets 500 and a log line', async (t) => {
  const { url, logs } = await serve(t, () => Response.error());
  assert.equal((await httpGet(url)).status, 500);
  assert.ok(
    logs.some((line) => line.message.includes('network error')),
    JSON.stringify(logs),
  );
});

test('a synchronous throw from the handler gets 500 and a log line with its stack', async (t) => {
  const { url, logs } = await serve(t, () => {
    throw new Error('sync failure (expected by the test)');
  });
  assert.equal((await httpGet(url)).status, 500);
  assert.ok(
    logs.some((line) => line.message.includes('sync failure (expected by the test)') && line.message.includes('at ')),
    JSON.stringify(logs),
  );
});

test('a body chunk that is not bytes gets 500 when nothing was sent yet', async (t) => {
  const { url, logs } = await serve(
    t,
    () =>
      new Response(
        new ReadableStream<unknown>({
          start(controller) {
            controller.enqueue(42);
            controller.close();
          },
        }) as ReadableStream<Uint8Array>,
      ),
  );
  assert.equal((await httpGet(url)).status, 500);
  assert.ok(
    logs.some((line) => line.message.includes('a response body chunk must be a Uint8Array, got number')),
    JSON.stringify(logs),
  );
});

test('string chunks of a hand-made stream are sent as UTF-8', async (t) => {
  const { url } = await serve(
    t,
    () =>
      new Response(
        new ReadableStream<unknown>({
          start(controller) {
            controller.enqueue('grüße ');
            controller.enqueue(new TextEncoder().encode('und mehr'));
            controller.close();
          },
        }) as ReadableStream<Uint8Array>,
      ),
  );
  const reply = await httpGet(url);
  assert.equal(reply.body.toString('utf8'), 'grüße und mehr');
});

test('fetchHandler refuses a non-function', () => {
  assert.throws(() => fetchHandler(42 as unknown as FetchHandler), TypeError);
});
