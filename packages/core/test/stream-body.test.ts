import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { createServer, MxError, Router, type Request } from '@mummyx/core';
import { deferred, httpGet, rawRequest, start, statusOf } from './helpers.js';

async function count(request: Request): Promise<number> {
  let bytes = 0;
  for await (const chunk of request.bodyStream) bytes += (chunk as Buffer).length;
  return bytes;
}

test('a stream-bodied route reads a body far over maxBodyBytes; a buffered route still answers 413', async (t) => {
  const router = new Router();
  router.post('/stream', async (request) => request.respond(200, {}, String(await count(request))), {
    body: 'stream',
  });
  router.post('/buffered', (request) => request.respond(200, {}, String(request.body.length)));
  router.post('/buffered-stream', async (request) => request.respond(200, {}, String(await count(request))));
  const { url } = await start(t, router, { maxBodyBytes: 1024 });
  const body = Buffer.alloc(5 * 1024 * 1024, 7);
  const streamed = await httpGet(`${url}/stream`, { method: 'POST', body });
  assert.equal(streamed.status, 200);
  assert.equal(streamed.body.toString(), String(body.length));
  assert.equal((await httpGet(`${url}/buffered`, { method: 'POST', body })).status, 413);
  const small = await httpGet(`${url}/buffered-stream`, { method: 'POST', body: 'abc' });
  assert.equal(small.body.toString(), '3', 'bodyStream on a buffered route streams the buffered body');
});

test('maxStreamBytes: a larger Content-Length gets 413 before the handler; a chunked body at the first byte over', async (t) => {
  let calls = 0;
  let failure: unknown;
  const router = new Router();
  router.post(
    '/limited',
    async (request) => {
      calls++;
      try {
        request.respond(200, {}, String(await count(request)));
      } catch (error) {
        failure = error;
        throw error;
      }
    },
    { body: 'stream', maxStreamBytes: 1000 },
  );
  const { url, port } = await start(t, router);
  const declared = await httpGet(`${url}/limited`, { method: 'POST', body: Buffer.alloc(1001) });
  assert.equal(declared.status, 413);
  assert.match(declared.body.toString(), /exceeds maxStreamBytes \(1000\)/);
  assert.equal(calls, 0);
  assert.equal((await httpGet(`${url}/limited`, { method: 'POST', body: Buffer.alloc(1000) })).status, 200);
  const chunk = 'x'.repeat(600);
  const chunked = await rawRequest(
    port,
    `POST /limited HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n${chunk}\r\n258\r\n${chunk}\r\n0\r\n\r\n`,
  );
  assert.equal(statusOf(chunked.text), 413);
  assert.match(chunked.text, /Connection: close/i);
  assert.ok(failure instanceof MxError && failure.code === 'MX_ERR_BODY_TOO_LARGE');
});

test('back-pressure: while the handler does not read, the client cannot finish sending', async (t) => {
  const gate = deferred();
  const router = new Router();
  router.post(
    '/slow',
    async (request) => {
      await gate.promise;
      request.respond(200, {}, String(await count(request)));
    },
    { body: 'stream' },
  );
  const { port } = await start(t, router);
  const total = 64 * 1024 * 1024;
  const req = httpRequest({
    host: '127.0.0.1',
    port,
    path: '/slow',
    method: 'POST',
    agent: false,
    headers: { 'Content-Length': String(total) },
  });
  const answer = new Promise<string>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
  });
  let written = false;
  req.end(Buffer.alloc(total), () => (written = true));
  await delay(400);
  assert.equal(written, false, 'the 64 MiB could not all leave the client while nobody read');
  gate.resolve();
  assert.equal(await answer, String(total));
  assert.equal(written, true);
});

test('threaded server: a stream-bodied route runs on the IO thread, buffered routes on workers', async (t) => {
  const server = createServer({
    app: new URL('./fixtures/stream-app.js', import.meta.url),
    threads: 2,
    maxBodyBytes: 1024,
    logHandler: () => {},
  });
  t.after(() => server.close());
  const { url } = await server.listen(0);
  const streamed = await httpGet(`${url}/stream`, { method: 'POST', body: Buffer.alloc(3 * 1024 * 1024) });
  assert.deepEqual(JSON.parse(streamed.body.toString()), { bytes: 3 * 1024 * 1024, isMainThread: true });
  const buffered = await httpGet(`${url}/buffered`, { method: 'POST', body: 'abc' });
  assert.deepEqual(JSON.parse(buffered.body.toString()), { bytes: 3, isMainThread: false });
  const form = new FormData();
  form.append('a', '1');
  form.append('f', new Blob(['xyz']), 'f.txt');
  const decoded = await fetch(`${url}/form`, { method: 'POST', body: form });
  assert.deepEqual(
    await decoded.json(),
    { names: ['a=1', 'f=xyz'], isMainThread: false },
    'decodeMultipart on a worker',
  );
});
