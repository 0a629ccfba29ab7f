// Thousands of event-stream clients that connect, get their first event and vanish: every
// stream, connection and topic subscription must be released, and the heap must not grow
// with the number of cycles. Raw node:net sockets keep the client side cheap.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createServer, type Server } from '@mummyx/core';
import { router } from './fixtures/sse-app.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const appUrl = new URL('./fixtures/sse-app.js', import.meta.url);

/** One client: open a stream subscribed to two topics, wait for its open event, then close the socket. */
function cycle(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no open event within 5 s; received ${JSON.stringify(received.slice(0, 300))}`));
    }, 5_000);
    socket.on('connect', () => {
      socket.write(
        'GET /stream?topic=news&topic=cycle HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n',
      );
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (received.includes('event: open\n')) socket.destroy();
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      if (received.includes('event: open\n')) resolve();
      else reject(new Error(`closed before the open event; received ${JSON.stringify(received.slice(0, 300))}`));
    });
  });
}

async function cycles(port: number, total: number, lanes: number): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < total) {
      next++;
      await cycle(port);
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
}

async function settled(server: Server): Promise<void> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    const { streams, connections } = server.stats();
    if (streams === 0 && connections === 0) return;
    if (performance.now() > deadline) {
      throw new Error(
        `still ${streams} stream(s) and ${connections} connection(s) open 10 s after the last client left`,
      );
    }
    await delay(10);
  }
}

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

async function start(t: TestContext, threaded: boolean): Promise<{ server: Server; port: number }> {
  const options = { logLevel: 'error' as const, logHandler: () => {} };
  const server = threaded ? createServer({ app: appUrl, threads: 2, ...options }) : createServer(router, options);
  t.after(() => server.close());
  const { port } = await server.listen(0);
  return { server, port };
}

test('inline: 10,000 connect/disconnect cycles leave no stream, subscription or heap growth', async (t) => {
  const { server, port } = await start(t, false);
  await cycles(port, 1_000, 32);
  await settled(server);
  const before = heapAfterGc();
  await cycles(port, 9_000, 32);
  await settled(server);
  const after = heapAfterGc();
  assert.equal(server.publish('news', 'anyone?'), 0, 'no news subscription left');
  assert.equal(server.publish('cycle', 'anyone?'), 0, 'no cycle subscription left');
  const growthBytes = after - before;
  t.diagnostic(`heap ${(before / 1048576).toFixed(1)} → ${(after / 1048576).toFixed(1)} MiB`);
  // A stream kept alive (its response, socket and subscriptions) is a few KiB: 9,000 of them
  // would be tens of MiB.
  assert.ok(growthBytes < 4 * 1024 * 1024, `heap grew ${(growthBytes / 1024 / 1024).toFixed(2)} MiB over 9,000 cycles`);
  assert.ok(server.stats().requestsHandled >= 10_000);
});

test('threaded: 3,000 connect/disconnect cycles on worker streams leave nothing behind', async (t) => {
  const { server, port } = await start(t, true);
  await cycles(port, 500, 16);
  await settled(server);
  const before = heapAfterGc();
  await cycles(port, 2_500, 16);
  await settled(server);
  const after = heapAfterGc();
  assert.equal(server.publish('news', 'anyone?'), 0, 'no news subscription left');
  assert.equal(server.publish('cycle', 'anyone?'), 0, 'no cycle subscription left');
  const growthBytes = after - before;
  t.diagnostic(`IO-thread heap ${(before / 1048576).toFixed(1)} → ${(after / 1048576).toFixed(1)} MiB`);
  assert.ok(
    growthBytes < 4 * 1024 * 1024,
    `IO-thread heap grew ${(growthBytes / 1024 / 1024).toFixed(2)} MiB over 2,500 cycles`,
  );
});
