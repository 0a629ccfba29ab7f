// MummyX broadcast for bench/websocket.mjs: GET /ws upgrades, subscribes the connection to topic
// `bench` and sends "ready"; GET /publish?seq=N publishes one 32-byte text message ("seq N"
// padded) to `bench` with publish() — from the IO thread inline, from a worker when threaded (one
// message to the IO thread, which fans it out) — and answers 200.
// THREADS: 0 = inline (default), N = fixed pool. PORT (default 8080); binds 127.0.0.1.
//
// One file is both the app module (imported by every worker) and the main program.
import { isMainThread } from 'node:worker_threads';
import { createServer, publish, Router } from '@mummyx/core';

/** The broadcast payload: always 32 bytes. */
function messageOf(seq) {
  return `seq ${seq}`.padEnd(32, '.');
}

export const router = new Router();

router.get('/ws', (request) => {
  const websocket = request.upgradeToWebSocket();
  websocket.subscribe('bench');
  // After the subscribe: when the client reads "ready", the subscription is in place.
  websocket.send('ready');
});

router.get('/publish', (request) => {
  publish('bench', messageOf(request.query.get('seq') ?? '0'));
  request.respond(200, { 'Content-Type': 'text/plain' }, 'published');
});

async function main() {
  const threads = Number(process.env['THREADS'] ?? 0);
  const server =
    threads === 0
      ? createServer(router, { compression: false, closeTimeoutMs: 2_000 })
      : createServer({ app: new URL(import.meta.url), threads, compression: false, closeTimeoutMs: 2_000 });
  const address = await server.listen(Number(process.env['PORT'] ?? 8080));
  console.log(`listening on ${address.url}`);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => void server.close().then(() => process.exit(0)));
  }
}

if (isMainThread) void main();
