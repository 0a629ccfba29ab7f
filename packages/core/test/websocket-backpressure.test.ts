// A WebSocket client that stops reading cannot grow the server's memory: once more than
// `websocket.maxBufferedBytes` wait for it, sends are refused and the connection is closed with
// 1008 (the handler gets `error` with closeCode 1008, then `close`) — direct sends, from a worker
// or inline, and published messages alike; `bufferedAmount` tells a handler it is behind first.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createServer, Router, type ServerOptions } from '@mummyx/core';
import { router as floodRouter, websocketHandler, type FloodRecord } from './fixtures/slow-client-app.js';
import { RawWebSocket, WsClient, listen, modes, waitFor, type Mode } from './fixtures/websocket-kit.js';

const appUrl = new URL('./fixtures/slow-client-app.js', import.meta.url);
const maxBufferedBytes = 1_048_576;
const messageBytes = 256 * 1_024;

async function startFlood(t: Parameters<typeof listen>[0], mode: Mode, options: ServerOptions = {}) {
  const base: ServerOptions = {
    logLevel: 'error',
    logHandler: () => {},
    closeTimeoutMs: 2_000,
    websocket: { maxBufferedBytes, closeTimeoutMs: 500 },
    ...options,
  };
  const server =
    mode === 'inline'
      ? createServer(floodRouter, { websocketHandler, ...base })
      : createServer({ app: appUrl, threads: 1, ...base });
  return listen(t, server);
}

for (const mode of modes) {
  test(`${mode}: a client that does not read is closed with 1008 once maxBufferedBytes wait for it`, async (t) => {
    const { server, port, wsUrl, track } = await startFlood(t, mode);
    const watcher = await WsClient.open(`${wsUrl}/watch?topic=flood:silent`);
    track(watcher);
    assert.equal(await watcher.nextText(), 'watching');
    const silent = await RawWebSocket.open(port, '/flood?kb=256&label=silent');
    track(silent);
    silent.socket.pause();
    const record = JSON.parse(await watcher.nextText(15_000)) as FloodRecord;
    assert.equal(record.events[0], 'error:1008', `events: ${record.events.join(' ')}`);
    assert.match(record.events.at(-1)!, /^close:/);
    assert.equal(server.stats().bufferOverflows, 1);
    if (mode === 'inline') {
      // The handler was told, and nothing was queued beyond the bound.
      assert.equal(record.refused, true);
      assert.ok(
        record.maxBufferedAmount <= maxBufferedBytes + messageBytes,
        `${record.maxBufferedAmount} bytes were queued for the client`,
      );
    } else {
      // A worker learns of it from the IO thread: behind (over half the bound), then closed.
      assert.ok(record.maxBufferedAmount > maxBufferedBytes / 2, `bufferedAmount ${record.maxBufferedAmount}`);
    }
    await waitFor('the connection gone', () => server.stats().websockets === 1, 10_000);
  });

  test(`${mode}: a client that reads gets every message of the same flood`, async (t) => {
    const { server, wsUrl, track } = await startFlood(t, mode);
    const reader = await WsClient.open(`${wsUrl}/flood?kb=256&label=reader`);
    track(reader);
    for (let i = 0; i < 200; i++) assert.equal(((await reader.next(10_000)).data as Buffer).length, messageBytes);
    assert.equal(server.stats().bufferOverflows, 0);
  });
}

test('a subscriber that does not read is closed with 1008; the others get every published message', async (t) => {
  const router = new Router();
  router.get('/news', (request) => {
    const websocket = request.upgradeToWebSocket();
    websocket.subscribe('news');
    websocket.send('subscribed');
  });
  const errors: number[] = [];
  const server = createServer(router, {
    logLevel: 'error',
    logHandler: () => {},
    websocket: { maxBufferedBytes, closeTimeoutMs: 500 },
    websocketHandler: (_websocket, event, message) => {
      if (event === 'error' && message?.kind === 'error') errors.push(message.closeCode);
    },
  });
  const { port, wsUrl, track } = await listen(t, server);
  const reader = await WsClient.open(`${wsUrl}/news`);
  track(reader);
  assert.equal(await reader.nextText(), 'subscribed');
  const silent = await RawWebSocket.open(port, '/news');
  track(silent);
  silent.socket.pause();
  await waitFor('both subscribed', () => server.stats().websockets === 2);
  const item = 'n'.repeat(64 * 1_024);
  // 25 MiB in bursts of 512 KiB: the reader takes each burst before the next; the silent one never reads.
  for (let burst = 0; burst < 50; burst++) {
    for (let i = 0; i < 8; i++) server.publish('news', item);
    for (let i = 0; i < 8; i++) assert.equal(String((await reader.next(10_000)).data).length, item.length);
  }
  assert.deepEqual(errors, [1008]);
  assert.equal(server.stats().bufferOverflows, 1);
});
