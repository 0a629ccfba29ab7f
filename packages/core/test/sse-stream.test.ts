// Server-sent event streams over real sockets, inline and on worker threads: headers, a real
// EventSource, byte-level framing, reconnection with Last-Event-ID, heartbeats, disconnect
// detection, back-pressure, server-side close, and publish to topics from every thread.
// The handlers live in fixtures/sse-app.ts; what they see of a stream's end arrives on topic
// `lifecycle`, which a watcher stream subscribes to.
import assert from 'node:assert/strict';
import { setImmediate as nextTurn, setTimeout as delay } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import { EventSource } from 'eventsource';
import fc from 'fast-check';
import { createServer, publish, type Server, type ServerOptions } from '@mummyx/core';
import { encodeSseEvent } from '../dist/sse/sse-encoder.js';
import { bigText, roundTripCases, router } from './fixtures/sse-app.js';
import { decodeChunks, RawClient, SseClient, type ClosedInfo } from './fixtures/sse-client.js';

const seed = Number(process.env.FC_SEED ?? 20261126);
const appUrl = new URL('./fixtures/sse-app.js', import.meta.url);

type Mode = 'inline' | 'threaded';
const modes: Mode[] = ['inline', 'threaded'];

interface Started {
  server: Server;
  port: number;
  url: string;
  /** Log lines at info level and above, as `level: message`. */
  logs: string[];
}

/** Starts the fixture app inline (the router on the IO thread) or on two workers; closed when the test ends. */
async function startSse(t: TestContext, mode: Mode, options: ServerOptions = {}): Promise<Started> {
  const logs: string[] = [];
  const base: ServerOptions = {
    logLevel: 'info',
    logHandler: (level, message) => logs.push(`${level}: ${message}`),
    ...options,
  };
  const server = mode === 'inline' ? createServer(router, base) : createServer({ app: appUrl, threads: 2, ...base });
  t.after(() => server.close());
  const address = await server.listen(0);
  return { server, port: address.port, url: address.url, logs };
}

/** Polls `probe` every 5 ms until it holds; fails naming `what` after `timeoutMs`. */
async function waitFor(what: string, probe: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!probe()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(5);
  }
}

/** A stream subscribed to `lifecycle`: reports each fixture stream's end as seen by its handler. */
async function watchLifecycle(t: TestContext, url: string) {
  const watcher = await SseClient.open(t, `${url}/stream?topic=lifecycle&label=watcher`);
  await watcher.opened();
  return {
    watcher,
    /** The `closed` report of the stream labelled `label`. */
    async closed(label: string, timeoutMs = 5_000): Promise<ClosedInfo> {
      const event = await watcher.event(
        `the close report of ${label}`,
        (e) => e.event === 'closed' && (JSON.parse(e.data) as ClosedInfo).label === label,
        timeoutMs,
      );
      return JSON.parse(event.data) as ClosedInfo;
    },
  };
}

/** What a browser's EventSource delivers for an event: its type and data with LF line endings. */
function asDelivered(event: { event?: string; data?: string }): { type: string; data: string } {
  return { type: event.event ?? 'message', data: (event.data ?? '').replace(/\r\n|\r|\n/g, '\n') };
}

for (const mode of modes) {
  test(`${mode}: answers 200 with the event-stream headers, no Content-Length, no CORS unless asked`, async (t) => {
    const { url } = await startSse(t, mode);
    const client = await SseClient.open(t, `${url}/stream`);
    await client.opened();
    assert.equal(client.status, 200);
    assert.deepEqual(client.header('content-type'), ['text/event-stream; charset=utf-8']);
    assert.deepEqual(client.header('cache-control'), ['no-cache, no-transform']);
    assert.deepEqual(client.header('x-accel-buffering'), ['no']);
    assert.deepEqual(client.header('content-length'), [], 'no Content-Length');
    assert.deepEqual(client.header('content-encoding'), [], 'not compressed');
    assert.deepEqual(client.header('transfer-encoding'), ['chunked'], 'chunked is the only framing');
    assert.deepEqual(
      client.headerPairs.map(([name]) => name.toLowerCase()).filter((name) => name.startsWith('access-control-')),
      [],
      'no CORS header by default',
    );

    const cors = await SseClient.open(t, `${url}/stream?cors=${encodeURIComponent('https://app.example')}`);
    await cors.opened();
    assert.deepEqual(cors.header('access-control-allow-origin'), ['https://app.example'], 'CORS when configured');
    assert.deepEqual(cors.header('content-type'), ['text/event-stream; charset=utf-8']);
  });

  test(`${mode}: never compresses, even for Accept-Encoding gzip and a 64 KiB event`, async (t) => {
    const { url } = await startSse(t, mode);
    const client = await SseClient.open(t, `${url}/big`, { headers: { 'Accept-Encoding': 'gzip, deflate, br' } });
    const event = await client.event('the big event', (e) => e.event === 'big');
    assert.deepEqual(client.header('content-encoding'), [], 'no Content-Encoding although the handler asked for gzip');
    assert.deepEqual(client.header('content-length'), [], "the handler's Content-Length is dropped");
    assert.deepEqual(
      client.header('content-type'),
      ['text/event-stream; charset=utf-8'],
      "the handler's type is replaced",
    );
    assert.deepEqual(client.header('x-custom'), ['kept'], 'other handler headers are kept');
    assert.equal(event.data, bigText);
    assert.equal(client.text, encodeSseEvent({ event: 'big', data: bigText }), 'the body is the plain event text');
  });

  test(`${mode}: a real EventSource receives every wire edge case exactly`, async (t) => {
    const { url } = await startSse(t, mode);
    const source = new EventSource(`${url}/cases`);
    t.after(() => source.close());
    const received: Array<{ type: string; data: string; lastEventId: string }> = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${received.length} events arrived`)), 5_000);
      const onEvent = (event: MessageEvent): void => {
        if (event.type === 'open') return;
        const data = String(event.data);
        received.push({ type: event.type, data, lastEventId: event.lastEventId });
        if (data === 'last') {
          clearTimeout(timer);
          resolve();
        }
      };
      source.addEventListener('message', onEvent);
      source.addEventListener('custom', onEvent);
      source.addEventListener('error', () => {
        clearTimeout(timer);
        reject(new Error('EventSource error'));
      });
    });
    // eventsource 4 sets MessageEvent.lastEventId to the event's own id (browsers keep the last
    // one seen); the id it sends back when reconnecting is tested below.
    const expected = roundTripCases.map((event) => ({ ...asDelivered(event), lastEventId: event.id ?? '' }));
    assert.deepEqual(received, expected);
  });

  test(`${mode}: the bytes on the wire are exactly the encoded events, one chunk each`, async (t) => {
    const { port } = await startSse(t, mode);
    const client = await RawClient.get(t, port, '/cases');
    const expected = roundTripCases.map((event) => encodeSseEvent(event)).join('');
    const expectedBytes = Buffer.from(expected).toString('latin1');
    await client.until('every case', () => decodeChunks(client.body).payload.endsWith(expectedBytes));
    const decoded = decodeChunks(client.body);
    const { chunkSizes } = decoded;
    // Chunk sizes count bytes, so the body is decoded as latin1 first, then read as UTF-8.
    const payload = Buffer.from(decoded.payload, 'latin1').toString('utf8');
    const openEvent = payload.slice(0, payload.length - expected.length);
    assert.match(openEvent, /^event: open\ndata: \{[^\n]*\}\n\n$/);
    // Each event is flushed as it is sent, not held back to be merged with the next.
    assert.equal(chunkSizes.length, roundTripCases.length + 1, 'one chunk per event');
    assert.ok(!payload.includes('\r'), 'no CR inside the event stream');
  });

  test(`${mode}: property: any string published as data arrives equal, line endings as LF`, async (t) => {
    const { server, url } = await startSse(t, mode);
    const client = await SseClient.open(t, `${url}/stream?topic=prop`);
    await client.opened();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc
          .array(
            fc.oneof(
              fc.string({ unit: 'binary', maxLength: 20 }),
              fc.constantFrom('\r', '\n', '\r\n', ' ', ':', '\u0000', '\uFEFF'),
            ),
            { maxLength: 12 },
          )
          .map((parts) => parts.join('')),
        async (data) => {
          const id = String(++n);
          assert.equal(server.publish('prop', { id, data }), 1);
          const event = await client.event(`event ${id}`, (e) => e.id === id, 3_000);
          assert.equal(event.data, data.replace(/\r\n|\r|\n/g, '\n'));
        },
      ),
      { seed, numRuns: 150 },
    );
    assert.deepEqual(client.parseErrors, []);
  });

  test(`${mode}: EventSource reconnects after the server ends the stream and sends Last-Event-ID`, async (t) => {
    const { url } = await startSse(t, mode);
    const source = new EventSource(`${url}/resume`);
    t.after(() => source.close());
    const received: Array<{ id: string; seen: string | null }> = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`received ${JSON.stringify(received)}`)), 5_000);
      source.addEventListener('message', (event: MessageEvent) => {
        received.push({
          id: event.lastEventId,
          seen: (JSON.parse(String(event.data)) as { lastEventId: string | null }).lastEventId,
        });
        if (received.length === 6) {
          clearTimeout(timer);
          source.close();
          resolve();
        }
      });
    });
    assert.deepEqual(received, [
      { id: '1', seen: null },
      { id: '2', seen: null },
      { id: '3', seen: null },
      { id: '4', seen: '3' },
      { id: '5', seen: '3' },
      { id: '6', seen: '3' },
    ]);
  });

  test(`${mode}: request.lastEventId reads the Last-Event-ID header`, async (t) => {
    const { url } = await startSse(t, mode);
    const client = await SseClient.open(t, `${url}/stream`, { headers: { 'Last-Event-ID': 'evt-41' } });
    assert.equal((await client.opened()).lastEventId, 'evt-41');
    const none = await SseClient.open(t, `${url}/stream`);
    assert.equal((await none.opened()).lastEventId, null);
  });

  test(`${mode}: sends a heartbeat comment every heartbeatIntervalMs and stops it when the stream closes`, async (t) => {
    const { port, server } = await startSse(t, mode, { sse: { heartbeatIntervalMs: 40 } });
    // A stream that sends nothing of its own and stays open until the test tells the server to
    // end it; the connection itself stays open after that (keep-alive).
    const name = `heartbeat-${mode}`;
    const client = await RawClient.get(t, port, `/held?name=${name}`);
    const beats = (): number => decodeChunks(client.body).payload.split(': keepalive\n\n').length - 1;
    await client.until('three heartbeats', () => beats() >= 3);
    const closer = new BroadcastChannel('sse-test-close');
    closer.postMessage(name);
    closer.close();
    await client.until('the end of the stream', () => decodeChunks(client.body).complete);
    const { payload } = decodeChunks(client.body);
    assert.match(payload, /^event: open\n[^]*?\n\n(: keepalive\n\n)+$/, 'the open event, then only heartbeats');
    const atEnd = client.bytes.length;
    await delay(250);
    assert.equal(client.bytes.length, atEnd, 'no heartbeat after the stream closed');
    assert.equal(client.closed, false, 'the connection itself stayed open, so a late heartbeat would have shown');
    assert.equal(server.stats().streams, 0);
  });

  for (const [how, disconnect] of [
    ['closes its socket', (client: RawClient) => client.socket.destroy()],
    ['half-closes (FIN)', (client: RawClient) => client.socket.end()],
    ['resets the connection (RST)', (client: RawClient) => client.socket.resetAndDestroy()],
  ] as const) {
    test(`${mode}: a client that ${how} is detected at once: onClose fires, subscriptions go`, async (t) => {
      // The default 15 s heartbeat: detection must come from the socket, not from a heartbeat write.
      const { server, port, url } = await startSse(t, mode);
      const lifecycle = await watchLifecycle(t, url);
      const client = await RawClient.get(t, port, '/stream?topic=news&topic=sport&label=leaver');
      await client.until('the open event', () => client.body.includes('event: open'));
      assert.equal(server.stats().streams, 2);
      assert.equal(server.publish('news', 'before'), 1);
      const started = performance.now();
      disconnect(client);
      const closed = await lifecycle.closed('leaver', 10_000);
      const elapsedMs = performance.now() - started;
      // Found by the socket, not by the next heartbeat write, which would take 15 s.
      assert.ok(elapsedMs < 7_500, `onClose after ${elapsedMs.toFixed(0)} ms: half the heartbeat interval or more`);
      assert.deepEqual(
        { closed: closed.closed, sendAfterClose: closed.sendAfterClose, commentAfterClose: closed.commentAfterClose },
        { closed: true, sendAfterClose: false, commentAfterClose: false },
      );
      await waitFor('stats().streams to drop to the watcher', () => server.stats().streams === 1, 2_000);
      assert.equal(server.publish('news', 'after'), 0, 'the news subscription was released');
      assert.equal(server.publish('sport', 'after'), 0, 'the sport subscription was released');
    });
  }

  test(`${mode}: a client that stops reading is cut off past maxBufferedBytes and onClose fires`, async (t) => {
    const maxBufferedBytes = 64 * 1024;
    const { server, port, url, logs } = await startSse(t, mode, { sse: { maxBufferedBytes } });
    const lifecycle = await watchLifecycle(t, url);

    // A client that reads keeps up with a steady trickle under the same limit.
    const reader = await SseClient.open(t, `${url}/stream?topic=steady&label=reader`);
    await reader.opened();
    const kib = 'k'.repeat(1_024);
    for (let i = 0; i < 200; i++) {
      assert.equal(server.publish('steady', kib), 1, `the reader is still subscribed at event ${i}`);
      await nextTurn();
    }
    await reader.until('200 steady events', () => reader.events.length === 201);
    assert.equal(reader.ended, false, 'the reading client was not cut off');

    const slow = await RawClient.get(t, port, '/stream?topic=flood&label=slow');
    await slow.until('the open event', () => slow.body.includes('event: open'));
    slow.socket.pause();
    const chunk = 'x'.repeat(16 * 1024);
    const limitBytes = 256 * 1024 * 1024;
    let sentBytes = 0;
    let i = 0;
    while (server.publish('flood', chunk) === 1) {
      sentBytes += chunk.length;
      assert.ok(sentBytes < limitBytes, `still open after ${sentBytes} bytes to a client that reads nothing`);
      if (++i % 8 === 0) await nextTurn();
    }
    const closed = await lifecycle.closed('slow');
    assert.equal(closed.closed, true);
    assert.equal(closed.sendAfterClose, false);
    assert.ok(
      logs.some((line) => /bytes behind \(maxBufferedBytes 65536\); closing it/.test(line)),
      `the cut-off is logged: ${JSON.stringify(logs)}`,
    );
    await waitFor('the slow stream to leave stats()', () => server.stats().streams === 2);
    assert.equal(reader.ended, false, 'the reader is unaffected');
    assert.equal(server.publish('steady', 'still here'), 1);
    await reader.event('the last steady event', (e) => e.data === 'still here');
  });

  test(`${mode}: send() after close() returns false, closed is true, and the client sees a clean end`, async (t) => {
    const { url } = await startSse(t, mode);
    const lifecycle = await watchLifecycle(t, url);
    const client = await SseClient.open(t, `${url}/close-now?label=closer`);
    await client.waitEnded();
    assert.equal(client.finished, true, 'the response ended with its last chunk');
    assert.deepEqual(client.events, [{ event: 'hello', id: undefined, data: 'and goodbye' }]);
    const closed = await lifecycle.closed('closer');
    assert.deepEqual(
      { closed: closed.closed, sendAfterClose: closed.sendAfterClose, commentAfterClose: closed.commentAfterClose },
      { closed: true, sendAfterClose: false, commentAfterClose: false },
    );
  });

  test(`${mode}: sends after the handler returned, then ends the stream from the server side`, async (t) => {
    const { server, url } = await startSse(t, mode);
    const lifecycle = await watchLifecycle(t, url);
    const client = await SseClient.open(t, `${url}/ticks?count=3&everyMs=20&label=ticker`);
    const open = await client.opened();
    await client.waitEnded();
    assert.equal(client.finished, true, 'a clean end, not a reset');
    const ticks = client.events.filter((e) => e.event === 'tick');
    assert.deepEqual(
      ticks.map((e) => e.id),
      ['1', '2', '3'],
    );
    for (const tick of ticks) {
      assert.equal((JSON.parse(tick.data) as { threadId: number }).threadId, open.threadId, 'sent by the owner');
    }
    assert.equal(open.isMainThread, mode === 'inline', 'threaded: a worker sends');
    const closed = await lifecycle.closed('ticker');
    assert.equal(closed.closed, true);
    assert.equal(closed.sendAfterClose, false);
    await waitFor('the stream to leave stats()', () => server.stats().streams === 1);
  });

  test(`${mode}: respondSSE counts as the response, and invalid fields throw coded errors`, async (t) => {
    const { url } = await startSse(t, mode);
    const client = await SseClient.open(t, `${url}/misuse`);
    await client.waitEnded();
    assert.deepEqual(
      client.events.map((e) => [e.event, e.data]),
      [
        ['respond-threw', 'MX_ERR_RESPONSE_ALREADY_SENT'],
        ['respond-sse-threw', 'MX_ERR_RESPONSE_ALREADY_SENT'],
        ['send-threw', 'MX_ERR_SSE_FIELD_INVALID'],
        ['comment-threw', 'MX_ERR_SSE_FIELD_INVALID'],
        ['still-open', 'true'],
      ],
    );
    assert.ok(!client.text.includes('injected'), 'nothing of the rejected event reached the wire');

    const lifecycle = await watchLifecycle(t, url);
    const plain = await SseClient.open(t, `${url}/respond-first`);
    await plain.waitEnded();
    assert.equal(plain.text, 'plain', 'the plain response stands');
    const threw = await lifecycle.watcher.event('respondSSE after respond', (e) => e.event === 'respond-sse-threw');
    assert.equal(threw.data, 'MX_ERR_RESPONSE_ALREADY_SENT');
  });

  test(`${mode}: server.close() ends every stream and resolves promptly`, async (t) => {
    const { server, url } = await startSse(t, mode);
    const clients = await Promise.all(
      ['a', 'b', 'c'].map((label) => SseClient.open(t, `${url}/stream?topic=news&label=${label}`)),
    );
    await Promise.all(clients.map((client) => client.opened()));
    assert.equal(server.stats().streams, 3);
    const started = performance.now();
    await server.close();
    const elapsedMs = performance.now() - started;
    // closeTimeoutMs is 10 s: streams must not make close() wait for it.
    assert.ok(elapsedMs < 2_000, `close() took ${elapsedMs.toFixed(0)} ms`);
    await Promise.all(clients.map((client) => client.waitEnded(1_000)));
    for (const client of clients) assert.equal(client.finished, true, 'each stream ended with its last chunk');
    assert.equal(server.stats().streams, 0);
    assert.equal(server.stats().connections, 0);
  });

  test(`${mode}: server.publish() and publish() on the main thread reach exactly the subscribers`, async (t) => {
    const { server, url } = await startSse(t, mode);
    const news = await SseClient.open(t, `${url}/stream?topic=news&label=news`);
    const both = await SseClient.open(t, `${url}/stream?topic=news&topic=sport&label=both`);
    const sport = await SseClient.open(t, `${url}/stream?topic=sport&label=sport`);
    await Promise.all([news.opened(), both.opened(), sport.opened()]);

    assert.equal(server.publish('news', { event: 'headline', id: '7', data: 'multi\r\nline' }), 2);
    assert.equal(server.publish('weather', 'nobody listens'), 0);
    publish('news', 'from publish() on the main thread');
    assert.equal(server.publish('sport', 42), 2);
    for (const client of [news, both]) {
      const headline = await client.event('the headline', (e) => e.event === 'headline');
      assert.deepEqual(headline, { event: 'headline', id: '7', data: 'multi\nline' });
      await client.event('the publish() event', (e) => e.data === 'from publish() on the main thread');
    }
    const score = await sport.event('the sport event', (e) => e.data === '42');
    assert.equal(score.event, undefined);
    await both.event('the sport event', (e) => e.data === '42');
    assert.deepEqual(
      sport.events.map((e) => e.event ?? e.data),
      ['open', '42'],
      'no news reached the sport-only stream',
    );
    assert.ok(!news.events.some((e) => e.data === '42'), 'no sport reached the news-only stream');
  });
}

test('inline: publish() inside a handler reaches every subscriber', async (t) => {
  const { url } = await startSse(t, 'inline');
  const a = await SseClient.open(t, `${url}/stream?topic=news`);
  const b = await SseClient.open(t, `${url}/stream?topic=news`);
  await Promise.all([a.opened(), b.opened()]);
  const response = await fetch(`${url}/publish?topic=news`, { method: 'POST', body: 'from a handler' });
  assert.deepEqual(await response.json(), { threadId: 0, isMainThread: true });
  for (const client of [a, b]) await client.event('the published event', (e) => e.data === 'from a handler');
});

test('threaded: publish() inside a worker handler reaches streams of other workers and inline ones', async (t) => {
  const { url } = await startSse(t, 'threaded');
  // The first stream's handler holds its worker, so the second stream must open on the other one.
  const first = await SseClient.open(t, `${url}/stream?topic=news&label=w1&holdMs=400`);
  const firstInfo = await first.opened();
  const second = await SseClient.open(t, `${url}/stream?topic=news&label=w2`);
  const secondInfo = await second.opened();
  const inline = await SseClient.open(t, `${url}/stream-inline?topic=news&label=io`);
  const inlineInfo = await inline.opened();
  assert.equal(firstInfo.isMainThread, false);
  assert.equal(secondInfo.isMainThread, false);
  assert.notEqual(firstInfo.threadId, secondInfo.threadId, 'the two streams belong to different workers');
  assert.equal(inlineInfo.isMainThread, true, 'the inline route runs on the IO thread');

  const response = await fetch(`${url}/publish?topic=news`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ event: 'flash', id: 'p1', data: 'from a worker' }),
  });
  const publisher = (await response.json()) as { threadId: number; isMainThread: boolean };
  assert.equal(publisher.isMainThread, false, 'published on a worker');
  for (const client of [first, second, inline]) {
    const event = await client.event('the published event', (e) => e.event === 'flash');
    assert.deepEqual(event, { event: 'flash', id: 'p1', data: 'from a worker' });
  }
  assert.ok(
    [firstInfo.threadId, secondInfo.threadId].some((id) => id !== publisher.threadId),
    'at least one receiving stream is owned by a worker other than the publisher',
  );
});

for (const mode of modes) {
  test(
    `${mode}: HEAD on a stream route gets the headers, ends, and the connection serves the next request`,
    {},
    async (t) => {
      const { server, port, url } = await startSse(t, mode);
      const lifecycle = await watchLifecycle(t, url);
      const client = await RawClient.send(
        t,
        port,
        'HEAD /stream?topic=news&label=head HTTP/1.1\r\nHost: x\r\n\r\nGET /plain HTTP/1.1\r\nHost: x\r\n\r\n',
      );
      await client.until('the answer to the GET behind the HEAD', () => client.bytes.endsWith('\r\n\r\nplain'), 2_000);
      const [head, second] = client.bytes.split(/(?=HTTP\/1\.1 )/);
      assert.match(head ?? '', /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(head ?? '', /\r\nContent-Type: text\/event-stream; charset=utf-8\r\n/);
      assert.ok(head?.endsWith('\r\n\r\n'), 'no body after the HEAD response head');
      assert.match(second ?? '', /^HTTP\/1\.1 200 OK\r\n/);
      const closed = await lifecycle.closed('head');
      assert.equal(closed.closed, true);
      await waitFor('the HEAD stream to leave stats()', () => server.stats().streams === 1, 2_000);
      assert.equal(server.publish('news', 'anyone?'), 0, 'no subscription left behind');
    },
  );
}

for (const mode of modes) {
  test(`${mode}: a client gone before the handler opens its stream leaves no stream behind`, {}, async (t) => {
    const { server, port, url } = await startSse(t, mode);
    const lifecycle = await watchLifecycle(t, url);
    const client = await RawClient.get(t, port, '/late?ms=150&topic=news&label=late');
    await delay(30);
    client.socket.destroy();
    const closed = await lifecycle.closed('late', 2_000);
    assert.equal(closed.closed, true);
    await waitFor('stats().streams to drop to the watcher', () => server.stats().streams === 1, 2_000);
    assert.equal(server.publish('news', 'anyone?'), 0, 'no subscription left behind');
  });
}
