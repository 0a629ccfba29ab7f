// Streamed bodies through fetchHandler, inline (on the IO thread, where respondStream works):
// chunks reach the client as they are produced, event streams reach an EventSource intact and
// uncompressed, a client that stops reading holds the producer back, a client that leaves cancels
// it, and a stream-bodied route hands the web Request a live body.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fetchHandler, Router, type ServerOptions } from '@mummyx/core';
import { EventSource } from 'eventsource';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { howItStops } from './gate-helpers.js';
import { collectLogs, deferred, httpGet, rawRequest, start, statusOf, within } from './helpers.js';

/** Serves `app` inline through fetchHandler on every path. */
async function serveApp(t: TestContext, app: Hono, options: ServerOptions = {}) {
  const router = new Router();
  router.any('/**', fetchHandler(app.fetch));
  return start(t, router, options);
}

/** Opens a GET and resolves with the response once its head arrived; destroyed when the test ends. */
function openGet(t: TestContext, url: string, headers: Record<string, string> = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers, agent: false }, resolve);
    req.on('error', reject);
    req.end();
    t.after(() => req.destroy());
  });
}

test('chunks of a ReadableStream body reach the client one by one, each before the next is produced', async (t) => {
  const parts = ['first ', 'second ', 'third'];
  const received = parts.map(() => deferred());
  let produced = 0;
  const app = new Hono();
  app.get('/gated', () => {
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (produced > 0) await received[produced - 1]!.promise;
        if (produced === parts.length) {
          controller.close();
          return;
        }
        controller.enqueue(new TextEncoder().encode(parts[produced++]));
      },
    });
    return new Response(body, { headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
  });
  const { url } = await serveApp(t, app);
  const response = await openGet(t, `${url}/gated`);
  assert.equal(response.statusCode, 200);
  assert.equal(response.headers['transfer-encoding'], 'chunked');
  let text = '';
  const arrivals: Array<{ text: string; produced: number; ended: boolean }> = [];
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => {
    text += chunk;
    arrivals.push({ text, produced, ended: response.complete });
    const whole = parts.findIndex((_, i) => text === parts.slice(0, i + 1).join(''));
    if (whole !== -1) received[whole]!.resolve();
  });
  await within(5_000, new Promise((resolve) => response.on('end', resolve)), 'the end of the response');
  assert.equal(text, 'first second third');
  // The producer waits for the client before each next chunk: had anything been gathered, the
  // response would never have ended. Each arrival saw only the chunks produced so far.
  assert.deepEqual(
    arrivals.map((a) => [a.text, a.produced, a.ended]),
    [
      ['first ', 1, false],
      ['first second ', 2, false],
      ['first second third', 3, false],
    ],
  );
});

test('a Hono SSE stream reaches an EventSource intact, each event before the next is written', async (t) => {
  const gotEvent = [deferred(), deferred(), deferred()];
  const app = new Hono();
  app.get('/events', (c) =>
    streamSSE(c, async (stream) => {
      await stream.writeSSE({ event: 'greeting', id: '1', data: 'hello\nsecond line' });
      await gotEvent[0]!.promise;
      await stream.writeSSE({ event: 'greeting', id: '2', data: '{"n":2}' });
      await gotEvent[1]!.promise;
      await stream.writeSSE({ data: 'plain message', id: '3', retry: 1000 });
      await gotEvent[2]!.promise;
    }),
  );
  const { url } = await serveApp(t, app);
  const source = new EventSource(`${url}/events`);
  t.after(() => source.close());
  const events: Array<{ type: string; data: string; lastEventId: string }> = [];
  const onEvent = (event: MessageEvent): void => {
    events.push({ type: event.type, data: String(event.data), lastEventId: event.lastEventId });
    gotEvent[events.length - 1]?.resolve();
  };
  source.addEventListener('greeting', onEvent);
  source.addEventListener('message', onEvent);
  await within(5_000, gotEvent[2]!.promise, 'the third event');
  source.close();
  assert.deepEqual(events, [
    { type: 'greeting', data: 'hello\nsecond line', lastEventId: '1' },
    { type: 'greeting', data: '{"n":2}', lastEventId: '2' },
    { type: 'message', data: 'plain message', lastEventId: '3' },
  ]);
});

test('an event stream is never compressed, even when the client accepts gzip and it is large', async (t) => {
  const app = new Hono();
  const data = 'compressible '.repeat(500);
  app.get('/events', (c) =>
    streamSSE(c, async (stream) => {
      await stream.writeSSE({ data });
    }),
  );
  const { url } = await serveApp(t, app);
  const reply = await httpGet(`${url}/events`, { headers: { 'Accept-Encoding': 'gzip, br, deflate' } });
  assert.equal(reply.status, 200);
  assert.equal(reply.headers['content-encoding'], undefined);
  assert.equal(reply.headers['content-type'], 'text/event-stream');
  assert.equal(reply.headers['x-accel-buffering'], 'no');
  assert.equal(reply.body.toString(), `data: ${data}\n\n`);
});

test('a body that is ready at once goes out whole: Content-Length, and compressed when accepted', async (t) => {
  const app = new Hono();
  const text = 'ready at once. '.repeat(20_000);
  app.get('/text', (c) => c.text(text));
  const { url } = await serveApp(t, app);
  const plain = await httpGet(`${url}/text`);
  assert.equal(plain.headers['content-length'], String(text.length));
  assert.equal(plain.headers['transfer-encoding'], undefined);
  assert.equal(plain.body.toString(), text);
  const gzipped = await httpGet(`${url}/text`, { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(gzipped.headers['content-encoding'], 'gzip');
  assert.ok(gzipped.body.length < text.length / 20, `${gzipped.body.length} bytes`);
});

test('a client that stops reading holds the producer back; reading again gets every byte', async (t) => {
  const chunkBytes = 64 * 1024;
  const totalChunks = 512; // 32 MiB
  let pulled = 0;
  const app = new Hono();
  app.get('/big', () => {
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled === totalChunks) {
          controller.close();
          return;
        }
        controller.enqueue(new Uint8Array(chunkBytes).fill(pulled++ & 0xff));
      },
    });
    return new Response(body, { headers: { 'Content-Type': 'application/octet-stream' } });
  });
  const { url } = await serveApp(t, app);
  const response = await openGet(t, `${url}/big`);
  response.pause();
  // Wait until the producer is held: no pull for several polls in a row.
  let last = -1;
  let still = 0;
  while (still < 5) {
    await delay(50);
    still = pulled === last ? still + 1 : 0;
    last = pulled;
  }
  assert.ok(pulled < totalChunks / 2, `the producer ran ahead of a client that reads nothing: ${pulled} chunks`);
  const hash = createHash('sha256');
  let bytes = 0;
  response.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
  });
  response.resume();
  await within(20_000, new Promise((resolve) => response.on('end', resolve)), 'the end of the body');
  assert.equal(bytes, chunkBytes * totalChunks);
  const expected = createHash('sha256');
  for (let i = 0; i < totalChunks; i++) expected.update(new Uint8Array(chunkBytes).fill(i & 0xff));
  assert.equal(hash.digest('hex'), expected.digest('hex'));
});

test('a client that leaves an event stream cancels it: the producer sees the abort', async (t) => {
  const aborted = deferred();
  const firstWritten = deferred();
  const app = new Hono();
  app.get('/forever', (c) =>
    streamSSE(c, async (stream) => {
      stream.onAbort(() => aborted.resolve());
      let n = 0;
      while (!stream.aborted) {
        await stream.writeSSE({ data: `tick ${++n}` });
        firstWritten.resolve();
        await stream.sleep(10);
      }
    }),
  );
  const { url } = await serveApp(t, app);
  const response = await openGet(t, `${url}/forever`);
  await new Promise((resolve) => response.once('data', resolve));
  await firstWritten.promise;
  response.destroy();
  await within(5_000, aborted.promise, 'the stream to be cancelled');
});

test('a body stream that fails midway closes the connection: the client sees a truncated response', async (t) => {
  const app = new Hono();
  app.get('/fails', () => {
    let sent = false;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (!sent) {
          sent = true;
          controller.enqueue(new TextEncoder().encode('partial'));
          return;
        }
        await delay(5);
        controller.error(new Error('producer failed (expected by the test)'));
      },
    });
    return new Response(body);
  });
  const { url } = await serveApp(t, app);
  const response = await openGet(t, `${url}/fails`);
  assert.equal(response.statusCode, 200);
  const { outcome, text } = await howItStops(response, 5_000);
  assert.notEqual(outcome, 'ended', 'a failed body must not look complete');
  assert.equal(text, 'partial');
});

test('a stream-bodied route gives the web Request the live body: the app reads it as it arrives', async (t) => {
  const firstChunkSeen = deferred();
  const app = new Hono();
  app.post('/upload', async (c) => {
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of c.req.raw.body as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      bytes += chunk.byteLength;
      firstChunkSeen.resolve();
    }
    return c.json({ bytes, sha256: hash.digest('hex') });
  });
  const router = new Router();
  router.post('/upload', fetchHandler(app.fetch), { body: 'stream' });
  const { url } = await start(t, router, { maxBodyBytes: 1024 });
  const half = Buffer.alloc(3 * 1024 * 1024, 'a');
  const rest = Buffer.alloc(2 * 1024 * 1024, 'b');
  const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest(
      `${url}/upload`,
      { method: 'POST', agent: false, headers: { 'Content-Length': String(half.length + rest.length) } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.write(half);
    // The rest is sent only once the app has read from the body: a buffered body would never get there.
    void within(5_000, firstChunkSeen.promise, 'the app reading the first chunk').then(
      () => req.end(rest),
      (error: unknown) => {
        req.destroy();
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
  assert.equal(reply.status, 200);
  const expected = createHash('sha256').update(half).update(rest).digest('hex');
  assert.deepEqual(JSON.parse(reply.body), { bytes: half.length + rest.length, sha256: expected });
});

test('past maxStreamBytes the server answers 413; the Response the app makes afterwards is dropped quietly', async (t) => {
  const appSettled = deferred();
  const app = new Hono();
  app.onError((_error, c) => {
    appSettled.resolve();
    return c.text('the app saw the failed read', 500);
  });
  app.post('/upload', async (c) => c.text(String((await c.req.arrayBuffer()).byteLength)));
  const router = new Router();
  router.post('/upload', fetchHandler(app.fetch), { body: 'stream', maxStreamBytes: 1000 });
  const logs = collectLogs();
  const { port } = await start(t, router, { logLevel: 'debug', logHandler: logs.logHandler });
  const chunk = 'x'.repeat(600);
  const { text } = await rawRequest(
    port,
    `POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n${chunk}\r\n258\r\n${chunk}\r\n0\r\n\r\n`,
  );
  assert.equal(statusOf(text), 413);
  await within(5_000, appSettled.promise, 'the app to see its read fail');
  await delay(20);
  assert.deepEqual(
    logs.lines.filter((line) => line.level === 'error'),
    [],
    'nothing is logged as an error: the request was answered',
  );
});
