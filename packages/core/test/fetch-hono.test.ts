// A Hono app (fixtures/fetch-hono-app.ts) mounted through fetchHandler, served inline and on four
// worker threads: the same requests over real sockets must get the same answers, streams
// included.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { createServer, type ServerOptions } from '@mummyx/core';
import { EventSource } from 'eventsource';
import { router } from './fixtures/fetch-hono-app.js';
import { exchange } from './fetch-helpers.js';
import { gatesFor, openGet, readGated } from './gate-helpers.js';
import { httpGet, within, type HttpResult } from './helpers.js';

const appUrl = new URL('./fixtures/fetch-hono-app.js', import.meta.url);

interface Served {
  url: string;
  port: number;
  logs: string[];
}

async function serve(t: TestContext, mode: 'inline' | 'threads'): Promise<Served> {
  const logs: string[] = [];
  const options: ServerOptions = {
    logLevel: 'error',
    logHandler: (level, message) => logs.push(`${level}: ${message}`),
  };
  const server =
    mode === 'inline' ? createServer(router, options) : createServer({ ...options, app: appUrl, threads: 4 });
  t.after(() => server.close());
  const address = await server.listen(0);
  return { url: address.url, port: address.port, logs };
}

function json(result: HttpResult): Record<string, unknown> {
  return JSON.parse(result.body.toString()) as Record<string, unknown>;
}

for (const mode of ['inline', 'threads'] as const) {
  const onWorker = mode === 'threads';

  test(`${mode}: route parameters, query and JSON reach the Hono app and come back`, async (t) => {
    const { url } = await serve(t, mode);
    const user = await httpGet(`${url}/users/42?tab=posts`);
    assert.equal(user.status, 200);
    assert.match(String(user.headers['content-type']), /^application\/json/);
    assert.equal(user.headers['x-route'], 'user');
    assert.deepEqual(json(user), { id: '42', tab: 'posts', isMainThread: !onWorker });
    const post = await httpGet(`${url}/users/7/posts/99`);
    assert.deepEqual(json(post), { id: '7', postId: '99' });
    const search = await httpGet(`${url}/search?q=a&q=b%20c&lang=en`);
    assert.deepEqual(json(search), { q: ['a', 'b c'], all: { q: 'a', lang: 'en' } });
  });

  test(`${mode}: a POST body is echoed byte for byte, and JSON bodies parse`, async (t) => {
    const { url } = await serve(t, mode);
    const bytes = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 31) & 0xff));
    const echo = await httpGet(`${url}/echo`, {
      method: 'POST',
      body: bytes,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    assert.equal(echo.status, 200);
    assert.equal(echo.headers['x-body-bytes'], '3000');
    assert.deepEqual(echo.body, bytes);
    const posted = await httpGet(`${url}/json`, {
      method: 'POST',
      body: JSON.stringify({ a: [1, 2], b: 'ü' }),
      headers: { 'Content-Type': 'application/json' },
    });
    assert.deepEqual(json(posted), { received: { a: [1, 2], b: 'ü' }, method: 'POST' });
  });

  test(`${mode}: the web Request has the real Host in its URL and every header, repeats joined`, async (t) => {
    const { port } = await serve(t, mode);
    const response = await exchange(
      t,
      port,
      'GET /request?x=1 HTTP/1.1\r\nHost: api.example.test:8443\r\nX-Dup: one\r\nX-Dup: two\r\nX-Single: yes\r\n\r\n',
    );
    assert.equal(response.status, 200);
    const seen = JSON.parse(response.body) as { url: string; method: string; headers: Record<string, string> };
    assert.equal(seen.url, 'http://api.example.test:8443/request?x=1');
    assert.equal(seen.method, 'GET');
    assert.equal(seen.headers['x-dup'], 'one, two');
    assert.equal(seen.headers['x-single'], 'yes');
    assert.equal(seen.headers['host'], 'api.example.test:8443');
  });

  test(`${mode}: every Set-Cookie of the Response is its own header field`, async (t) => {
    const { url } = await serve(t, mode);
    const reply = await httpGet(`${url}/cookies`);
    assert.equal(reply.status, 200);
    assert.equal(reply.body.toString(), 'three cookies');
    const cookies = reply.headers['set-cookie'] ?? [];
    assert.equal(cookies.length, 3, JSON.stringify(cookies));
    assert.match(cookies[0]!, /^session=abc; Path=\/; HttpOnly$/);
    assert.match(cookies[1]!, /^theme=dark; Path=\/$/);
    assert.match(cookies[2]!, /^old=; Max-Age=0; Path=\/$/);
  });

  test(`${mode}: HEAD gets the head of GET and no body; 204 gets none either`, async (t) => {
    const { port, url } = await serve(t, mode);
    const head = await exchange(t, port, 'HEAD /users/5 HTTP/1.1\r\nHost: x\r\n\r\n', true);
    assert.equal(head.status, 200);
    assert.match(head.header('content-type') ?? '', /^application\/json/);
    assert.equal(head.header('x-route'), 'user');
    assert.equal(head.body, '');
    const empty = await httpGet(`${url}/no-content`);
    assert.equal(empty.status, 204);
    assert.equal(empty.body.length, 0);
  });

  test(`${mode}: a path the app does not route gets Hono's 404`, async (t) => {
    const { url } = await serve(t, mode);
    const reply = await httpGet(`${url}/nowhere`);
    assert.equal(reply.status, 404);
    assert.equal(reply.body.toString(), '404 Not Found');
  });

  test(`${mode}: a route that throws or rejects gets 500 and a log line with the error`, async (t) => {
    const { url, logs } = await serve(t, mode);
    for (const path of ['/throw', '/reject']) {
      const reply = await httpGet(`${url}${path}`);
      assert.equal(reply.status, 500, path);
      assert.equal(reply.body.toString(), 'Internal Server Error');
    }
    assert.ok(
      logs.some((line) => line.includes('handler error for GET /throw') && line.includes('hono route exploded')),
      JSON.stringify(logs),
    );
    assert.ok(
      logs.some((line) => line.includes('handler error for GET /reject') && line.includes('hono route rejected')),
      JSON.stringify(logs),
    );
  });

  test(`${mode}: a Host that is not a host gets 400 before the app runs`, async (t) => {
    const { port } = await serve(t, mode);
    const response = await exchange(t, port, 'GET /request HTTP/1.1\r\nHost: evil.test/other?\r\n\r\n');
    assert.equal(response.status, 400);
    assert.match(response.body, /do not form an http URL/);
  });

  test(`${mode}: a stream-producing route is streamed, chunked, every chunk in order`, async (t) => {
    const { url } = await serve(t, mode);
    const reply = await httpGet(`${url}/chunks`);
    assert.equal(reply.status, 200);
    assert.equal(reply.body.toString(), 'one two three');
    assert.equal(reply.headers['transfer-encoding'], 'chunked');
    assert.equal(reply.headers['content-length'], undefined);
  });

  test(`${mode}: chunks of a ReadableStream body arrive one by one, each before the next is made`, async (t) => {
    const { url } = await serve(t, mode);
    const gates = gatesFor(t);
    const parts = ['first ', 'second ', 'third'];
    const response = await openGet(t, `${url}/gated?token=${gates.token}`);
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['transfer-encoding'], 'chunked');
    assert.equal(response.headers['x-main-thread'], String(!onWorker));
    const arrivals = await readGated(response, parts, gates);
    // Chunk n+1 is made only once the client has chunk n: had anything been gathered on the
    // way (on the worker, between the threads, on the IO thread), the response would never end.
    assert.deepEqual(arrivals, [
      ['first ', false],
      ['first second ', false],
      ['first second third', false],
    ]);
  });

  test(`${mode}: a client that stops reading holds the app's stream back; leaving cancels it`, async (t) => {
    const { url } = await serve(t, mode);
    const gates = gatesFor(t);
    const response = await openGet(t, `${url}/held?token=${gates.token}`);
    assert.equal(response.statusCode, 200);
    response.pause();
    const made = (): number => gates.transcript.filter((text) => text.startsWith('made ')).length;
    // Held: no chunk made over five polls in a row.
    let last = -1;
    let still = 0;
    const deadline = Date.now() + 20_000;
    while (still < 5) {
      assert.ok(Date.now() < deadline, `the producer never stopped: ${made()} chunks made`);
      await delay(50);
      const now = made();
      still = now === last ? still + 1 : 0;
      last = now;
    }
    // What the socket's buffers, the ring and the stream's own queue hold is a few MiB; a body
    // read without back-pressure would be made whole (2,048 chunks) by now.
    assert.ok(last > 0 && last < 1024, `${last} chunks of 64 KiB made for a client that reads nothing`);
    response.destroy();
    await gates.heard('cancelled');
  });

  test(`${mode}: c.req.raw.signal aborts when the client leaves before the response`, async (t) => {
    const { port } = await serve(t, mode);
    const gates = gatesFor(t);
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    t.after(() => socket.destroy());
    socket.write(`GET /until-abort?token=${gates.token} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await gates.heard('waiting');
    socket.destroy();
    const aborted = await gates.heard('aborted', (text) => text.startsWith('aborted '));
    assert.equal(aborted, `aborted AbortError ${onWorker ? 'worker' : 'main'}`);
  });

  test(`${mode}: a streamSSE stream opens an EventSource before its first event; events arrive intact`, async (t) => {
    const { url } = await serve(t, mode);
    const gates = gatesFor(t);
    const source = new EventSource(`${url}/events?token=${gates.token}`);
    t.after(() => source.close());
    const events: Array<{ data: string; lastEventId: string }> = [];
    const allThree = new Promise<void>((resolve) => {
      source.addEventListener('tick', (event: MessageEvent) => {
        events.push({ data: String(event.data), lastEventId: event.lastEventId });
        gates.say(`event ${events.length}`);
        if (events.length === 3) resolve();
      });
    });
    // The first event waits for this: an EventSource that opened only with it would hang here.
    source.addEventListener('open', () => gates.say('open'));
    await within(10_000, allThree, 'three events');
    source.close();
    const from = onWorker ? 'worker' : 'main';
    assert.deepEqual(events, [
      { data: `tick 1\nfrom ${from}`, lastEventId: '1' },
      { data: `tick 2\nfrom ${from}`, lastEventId: '2' },
      { data: `tick 3\nfrom ${from}`, lastEventId: '3' },
    ]);
  });

  test(`${mode}: the event stream's wire: head at once, uncompressed, heartbeat comments between events`, async (t) => {
    const { url } = await serve(t, mode);
    const gates = gatesFor(t);
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(
        `${url}/events?token=${gates.token}`,
        { agent: false, headers: { 'Accept-Encoding': 'gzip, br' } },
        resolve,
      );
      req.on('error', reject);
      req.end();
      t.after(() => req.destroy());
    });
    // The head came before any event was written: the first waits for 'open'.
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['content-type'], 'text/event-stream');
    assert.equal(response.headers['x-accel-buffering'], 'no');
    assert.equal(response.headers['content-encoding'], undefined);
    gates.say('open');
    let text = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      text += chunk;
      for (let n = 1; n <= 3; n++) if (text.includes(`id: ${n}\n\n`)) gates.say(`event ${n}`);
    });
    await within(10_000, new Promise((resolve) => response.on('end', resolve)), 'the end of the stream');
    const from = onWorker ? 'worker' : 'main';
    const event = (n: number): string => `event: tick\ndata: tick ${n}\ndata: from ${from}\nid: ${n}\n\n`;
    assert.equal(text, `${event(1)}: heartbeat\n\n${event(2)}: heartbeat\n\n${event(3)}`);
  });
}

test('threads: a 16 MiB body streams from a worker, every byte in order', async (t) => {
  const { url } = await serve(t, 'threads');
  const reply = await httpGet(`${url}/big`);
  assert.equal(reply.status, 200);
  assert.equal(reply.headers['transfer-encoding'], 'chunked');
  assert.equal(reply.body.length, 16 * 1024 * 1024);
  const expected = createHash('sha256');
  for (let i = 0; i < 256; i++) expected.update(new Uint8Array(64 * 1024).fill(i & 0xff));
  assert.equal(createHash('sha256').update(reply.body).digest('hex'), expected.digest('hex'));
});

test('threads: the app pinned inline runs on the IO thread while the rest runs on workers', async (t) => {
  const { url } = await serve(t, 'threads');
  const events = await httpGet(`${url}/inline/sse`);
  assert.equal(events.status, 200);
  assert.equal(events.headers['content-type'], 'text/event-stream');
  assert.equal(events.headers['x-accel-buffering'], 'no');
  assert.match(events.body.toString(), /^event: tick\ndata: tick 1\ndata: line two\nid: 1\n\n/);
  const user = await httpGet(`${url}/inline/users/1`);
  assert.equal(json(user)['isMainThread'], true);
  const other = await httpGet(`${url}/users/1`);
  assert.equal(json(other)['isMainThread'], false);
});
