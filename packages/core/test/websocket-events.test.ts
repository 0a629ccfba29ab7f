// What a WebSocket handler sees, inline and on workers: echo, events delivered one at a time in
// order (open first, close last, error before close on abnormal ends), the handle's id and its
// calls after close, stats().websockets, and server.close().
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LifecycleRecord, Where } from './fixtures/websocket-app.js';
import { modes, Opcode, RawWebSocket, startApp, waitFor, WsClient, type Started } from './fixtures/websocket-kit.js';

let labels = 0;

/** A fresh label and a client subscribed to its lifecycle records. */
async function observe(started: Started): Promise<{ label: string; next(): Promise<LifecycleRecord> }> {
  const label = `l${++labels}`;
  const observer = await WsClient.open(`${started.wsUrl}/echo?topic=lifecycle:${label}`);
  started.track(observer);
  assert.equal(await observer.nextText(), `subscribed lifecycle:${label}`);
  return {
    label,
    next: async () => JSON.parse(await observer.nextText(5_000)) as LifecycleRecord,
  };
}

async function openWs(started: Started, path = '/echo'): Promise<WsClient> {
  const client = await WsClient.open(`${started.wsUrl}${path}`);
  started.track(client);
  return client;
}

async function whereOf(client: WsClient): Promise<Where> {
  client.send('!where');
  return JSON.parse(await client.nextText()) as Where;
}

for (const mode of modes) {
  test(`${mode}: echoes text and binary messages of any size up to the limit`, async (t) => {
    const started = await startApp(t, mode);
    const client = await openWs(started);
    for (const text of ['hello', '', 'héllo 中文 🌍', 'x'.repeat(70_000 >> 1)]) {
      client.send(text);
      const echo = await client.next();
      assert.deepEqual(echo, { data: text, isBinary: false });
    }
    for (const bytes of [Buffer.from([0, 1, 2, 255]), Buffer.alloc(0), Buffer.alloc(40_000, 9)]) {
      client.send(bytes);
      assert.deepEqual(await client.next(), { data: bytes, isBinary: true });
    }
    client.send('!binary abc');
    assert.deepEqual(await client.next(), { data: Buffer.from('abc'), isBinary: true }, 'bytes are sent as binary');

    const raw = await RawWebSocket.open(started.port, '/echo');
    started.track(raw);
    raw.sendText('raw text');
    assert.equal(await raw.nextText(), 'raw text');
    raw.send({ opcode: Opcode.Binary, payload: Buffer.from([7, 8]) });
    const binary = await raw.nextFrame();
    assert.deepEqual([binary.opcode, [...binary.payload]], [Opcode.Binary, [7, 8]]);
  });

  test(`${mode}: a handler that awaits a random delay sees its messages in order and one at a time`, async (t) => {
    const started = await startApp(t, mode);
    const clients = await Promise.all([1, 2, 3].map(() => openWs(started, '/serial')));
    await Promise.all(
      clients.map(async (client, c) => {
        const sent = Array.from({ length: 60 }, (_, i) => `c${c}-m${i}`);
        for (const text of sent) client.send(text);
        const seen: string[] = [];
        let maxActive = 0;
        for (let i = 0; i < sent.length; i++) {
          const reply = JSON.parse(await client.nextText(5_000)) as { data: string; maxActive: number };
          seen.push(reply.data);
          maxActive = Math.max(maxActive, reply.maxActive);
        }
        assert.deepEqual(seen, sent, 'replies in the order the messages were sent');
        assert.equal(maxActive, 1, 'never two handler calls of one connection at once');
      }),
    );
  });

  test(`${mode}: open comes first and close last, with the messages in order between`, async (t) => {
    const started = await startApp(t, mode);
    const lifecycle = await observe(started);
    const client = await openWs(started, `/echo?label=${lifecycle.label}`);
    // Sent at once: the handler's open is still awaiting its 10 ms delay.
    for (const text of ['a', 'b', 'c']) client.send(text);
    client.ws.ping('p');
    client.send(Buffer.from([1, 2]));
    for (const text of ['a', 'b', 'c']) assert.equal(await client.nextText(), text);
    assert.deepEqual((await client.next()).data, Buffer.from([1, 2]));
    client.ws.close(1000, 'done');
    const record = await lifecycle.next();
    assert.deepEqual(record.events, ['open', 'text:a', 'text:b', 'text:c', 'ping:p', 'binary:0102', 'close:1000:done']);
    assert.equal(record.overlapped, false, 'no event started while another was running');
    assert.equal(record.sameHandle, true, 'events get the handle upgradeToWebSocket returned');
  });

  test(`${mode}: an abrupt disconnect delivers error (1006) and then close (1006)`, async (t) => {
    const started = await startApp(t, mode);
    const lifecycle = await observe(started);
    const raw = await RawWebSocket.open(started.port, `/echo?label=${lifecycle.label}`);
    started.track(raw);
    raw.sendText('before');
    assert.equal(await raw.nextText(), 'before');
    raw.socket.destroy();
    const record = await lifecycle.next();
    assert.deepEqual(record.events, ['open', 'text:before', 'error:1006', 'close:1006:']);
  });

  test(`${mode}: a protocol error delivers error with its close code before close`, async (t) => {
    const started = await startApp(t, mode);
    const lifecycle = await observe(started);
    const raw = await RawWebSocket.open(started.port, `/echo?label=${lifecycle.label}`);
    started.track(raw);
    raw.send({ opcode: Opcode.Text, payload: Buffer.from([0xff]) });
    assert.equal((await raw.nextClose()).code, 1007);
    raw.sendClose(1007);
    const record = await lifecycle.next();
    assert.equal(record.events[0], 'open');
    assert.equal(record.events[1], 'error:1007');
    assert.match(record.events[2] ?? '', /^close:/);
    assert.equal(record.events.length, 3);
  });

  test(`${mode}: a message over maxMessageBytes delivers error 1009 before close, and never the message`, async (t) => {
    const started = await startApp(t, mode, { websocket: { maxMessageBytes: 100 } });
    const lifecycle = await observe(started);
    const client = await openWs(started, `/echo?label=${lifecycle.label}`);
    client.send('x'.repeat(101));
    assert.equal((await client.closed).code, 1009);
    const record = await lifecycle.next();
    assert.equal(record.events[0], 'open');
    assert.equal(record.events[1], 'error:1009');
    assert.match(record.events[2] ?? '', /^close:/);
    assert.equal(record.events.length, 3);
  });

  test(`${mode}: a clean close from either side delivers no error`, async (t) => {
    const started = await startApp(t, mode);
    const lifecycle = await observe(started);
    const byServer = await openWs(started, `/echo?label=${lifecycle.label}`);
    byServer.send('!close 4100 server side');
    assert.deepEqual(await byServer.closed, { code: 4100, reason: 'server side' });
    assert.deepEqual((await lifecycle.next()).events, [
      'open',
      'text:!close 4100 server side',
      'close:4100:server side',
    ]);

    const byClient = await openWs(started, `/echo?label=${lifecycle.label}`);
    byClient.ws.close();
    assert.deepEqual((await lifecycle.next()).events, ['open', 'close:1005:']);
  });

  test(`${mode}: send, close, subscribe after the close event are ignored and send returns false`, async (t) => {
    const started = await startApp(t, mode);
    const lifecycle = await observe(started);
    const client = await openWs(started, `/echo?label=${lifecycle.label}`);
    client.send('idle');
    assert.equal(await client.nextText(), 'idle');
    client.ws.close(1000);
    const record = await lifecycle.next();
    assert.equal(record.closedAfter, true, 'closed is true after the close event');
    assert.equal(record.sendAfter, false, 'send() returns false after the close event');
  });

  test(`${mode}: inside the close event the handle is already closed and send returns false`, {}, async (t) => {
    const started = await startApp(t, mode);
    const lifecycle = await observe(started);
    const client = await openWs(started, `/echo?label=${lifecycle.label}`);
    // Once the echo is back, the handler is idle: the close event runs as soon as it arrives.
    client.send('idle');
    assert.equal(await client.nextText(), 'idle');
    client.ws.close(1000);
    const record = await lifecycle.next();
    assert.equal(record.sendInClose, false, 'send() inside the close event');
    assert.equal(record.closedInClose, true, 'closed inside the close event');
  });

  test(`${mode}: send after the handler's own close() returns false and nothing follows the close frame`, async (t) => {
    const started = await startApp(t, mode);
    const lifecycle = await observe(started);
    const raw = await RawWebSocket.open(started.port, `/echo?label=${lifecycle.label}`);
    started.track(raw);
    raw.sendText('!close-then-send');
    const close = await raw.nextClose();
    assert.deepEqual([close.code, close.reason, close.skipped.length], [1000, 'bye', 0]);
    raw.sendClose(1000);
    assert.equal(await raw.waitClosed(), true);
    const record = await lifecycle.next();
    assert.equal(record.sendAfterOwnClose, false);
    assert.equal(raw.unparsed.length, 0, 'no bytes after the close frame');
  });

  test(`${mode}: ids are unique per connection and stable across its events; stats() counts open WebSockets`, async (t) => {
    const started = await startApp(t, mode);
    const { server } = started;
    const lifecycle = await observe(started);
    await waitFor('the observer counted', () => server.stats().websockets === 1);
    const clients = await Promise.all([1, 2, 3].map(() => openWs(started, `/echo?label=${lifecycle.label}`)));
    await waitFor('four websockets', () => server.stats().websockets === 4);
    const ids = await Promise.all(clients.map(async (client) => (await whereOf(client)).id));
    assert.equal(new Set(ids).size, 3, `distinct ids ${ids.join(', ')}`);
    assert.deepEqual(await Promise.all(clients.map(async (client) => (await whereOf(client)).id)), ids, 'stable');

    clients[0]!.ws.close();
    assert.equal((await lifecycle.next()).id, ids[0]);
    await waitFor('three websockets', () => server.stats().websockets === 3);
    clients[1]!.destroy();
    assert.equal((await lifecycle.next()).id, ids[1]);
    await waitFor('two websockets', () => server.stats().websockets === 2);
    const raw = await RawWebSocket.open(started.port, '/echo');
    started.track(raw);
    await waitFor('three again', () => server.stats().websockets === 3);
    raw.send({ opcode: Opcode.Text, payload: 'x', mask: false });
    await waitFor('a protocol error counted out', () => server.stats().websockets === 2);
  });

  test(`${mode}: server.close() closes every WebSocket with 1001 and finishes promptly`, async (t) => {
    const started = await startApp(t, mode, { closeTimeoutMs: 5_000 });
    const clients = await Promise.all([1, 2, 3].map(() => openWs(started)));
    const raw = await RawWebSocket.open(started.port, '/echo', { autoPong: true });
    started.track(raw);
    await waitFor('four websockets', () => started.server.stats().websockets === 4);
    const began = performance.now();
    const closing = started.server.close();
    for (const client of clients) assert.deepEqual(await client.closed, { code: 1001, reason: 'server shutting down' });
    const close = await raw.nextClose();
    assert.equal(close.code, 1001);
    raw.sendClose(1001);
    await closing;
    assert.ok(performance.now() - began < 4_000, 'did not wait for closeTimeoutMs');
    assert.equal(started.server.stats().websockets, 0);
    assert.equal(await raw.waitClosed(), true);
  });
}

test('inline: the handler runs on the main thread; threaded: on a worker', async (t) => {
  for (const mode of modes) {
    const started = await startApp(t, mode);
    const client = await openWs(started);
    const where = await whereOf(client);
    assert.equal(where.isMainThread, mode === 'inline', mode);
    if (mode === 'threaded') assert.ok(where.threadId > 0);
  }
});

test('inline: an invalid call throws inside the handler, is logged, and later events still arrive', async (t) => {
  const started = await startApp(t, 'inline');
  const client = await openWs(started);
  for (const command of [`!ping ${'x'.repeat(126)}`, '!close 999 invalid', `!close 1000 ${'r'.repeat(124)}`]) {
    client.send(command);
    client.send('next');
    assert.equal(await client.nextText(), 'next', command);
  }
  assert.equal(started.logs.filter((line) => /^error: websocket handler error on \d+: /.test(line)).length, 3);
});
