// A client that asks for a large body and never reads it does not pin the body's memory forever:
// once its socket has taken no bytes for `writeTimeoutMs`, the connection is destroyed and
// counted in stats().writeTimeouts — for inline responses and for responses written for workers.
// A client that reads, however slowly, keeps its connection.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { createServer, type Server } from '@mummyx/core';
import { router } from './fixtures/slow-client-app.js';
import { listen, waitFor } from './fixtures/websocket-kit.js';

const appUrl = new URL('./fixtures/slow-client-app.js', import.meta.url);
const bigBytes = 16 * 1_048_576;

/** Sends a GET and never reads the answer. */
function silentGet(port: number, path: string): Socket {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  socket.pause();
  return socket;
}

async function startBoth(t: Parameters<typeof listen>[0], mode: 'inline' | 'threaded', writeTimeoutMs: number) {
  const options = { logLevel: 'error' as const, logHandler: () => {}, writeTimeoutMs, compression: false as const };
  const server: Server =
    mode === 'inline' ? createServer(router, options) : createServer({ app: appUrl, threads: 1, ...options });
  return listen(t, server);
}

for (const mode of ['inline', 'threaded'] as const) {
  const path = '/big?mb=16';

  test(`${mode}: a client that reads none of a 16 MiB answer is disconnected after writeTimeoutMs`, async (t) => {
    const { server, port, track } = await startBoth(t, mode, 300);
    const socket = silentGet(port, path);
    track(socket);
    await waitFor('the write timeout', () => server.stats().writeTimeouts === 1, 10_000);
    await waitFor('the connection closed by the server', () => server.stats().connections === 0);
  });

  test(`${mode}: a client that reads slowly keeps its connection and gets the whole body`, async (t) => {
    const { server, port, track } = await startBoth(t, mode, 2_000);
    const socket = connect(port, '127.0.0.1');
    track(socket);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    let received = 0;
    const ended = new Promise<void>((resolve) => socket.on('end', resolve));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      // Read a little, then nothing for a while: progress is slow, never absent for 2 s.
      socket.pause();
      setTimeout(() => socket.resume(), 20);
    });
    await ended;
    assert.ok(received > bigBytes, `received ${received} bytes`);
    assert.equal(server.stats().writeTimeouts, 0);
  });
}

test('writeTimeoutMs 0 leaves a client that does not read alone', async (t) => {
  const { server, port, track } = await startBoth(t, 'inline', 0);
  const socket = silentGet(port, '/big');
  track(socket);
  await waitFor('the request answered', () => server.stats().requestsHandled === 1);
  await delay(600);
  assert.equal(server.stats().connections, 1);
  assert.equal(server.stats().writeTimeouts, 0);
});
