// The server bench/hostile.mjs probes: the routes a hostile or broken client can abuse.
//   GET /flood         upgrades; the handler sends a fresh 1 MiB binary message every millisecond for as
//                      long as the connection is open and send() accepts them
//   GET /big?mb=N      a body of N MiB (default 16), built per request as an app would
//   GET /slow          blocks its thread 10 ms (Atomics.wait), then a 26-byte body
//   GET /hello         a 13-byte body at once
//   GET /stats         server.stats() as JSON, inline (on the IO thread)
//   GET /gc            a full garbage collection on the IO thread when node runs with --expose-gc,
//                      so RSS shows what is still held rather than what the collector has not
//                      got to yet
// THREADS: 0 = inline (default), N = fixed pool, MIN-MAX = elastic. PORT (default 8080); binds
// 127.0.0.1 and prints `listening on http://127.0.0.1:PORT`. SIGTERM/SIGINT close the server, and
// the process ends when nothing is left to run (no process.exit: a hang shows).
//
// One file is both the app module (imported by every worker) and the main program.
import { isMainThread } from 'node:worker_threads';
import { createServer, parseThreads, Router } from '@mummyx/core';

const sleeper = new Int32Array(new SharedArrayBuffer(4));
const megabyte = Buffer.alloc(1_048_576, 120);

export const router = new Router();

/** Flood timers by WebSocket handle: the upgrading handler and the events run on one thread. */
const floods = new WeakMap();

router.get('/flood', (request) => {
  const websocket = request.upgradeToWebSocket();
  const timer = setInterval(() => {
    // A fresh message each time, as an app that serializes its data would send.
    if (!websocket.send(Buffer.from(megabyte))) clearInterval(timer);
  }, 1);
  floods.set(websocket, timer);
});

export const websocketHandler = (websocket, event) => {
  if (event === 'close') clearInterval(floods.get(websocket));
};

router.get('/big', (request) => {
  const mb = Math.min(Math.max(Number(request.query.get('mb') ?? 16) || 1, 1), 256);
  request.respond(200, { 'Content-Type': 'application/octet-stream' }, Buffer.alloc(mb * 1_048_576, 97));
});

router.get('/slow', (request) => {
  Atomics.wait(sleeper, 0, 0, 10);
  request.respond(200, { 'Content-Type': 'text/plain' }, 'abcdefghijklmnopqrstuvwxyz');
});

router.get('/hello', (request) => request.respond(200, { 'Content-Type': 'text/plain' }, 'Hello, World!'));

let server;
router.get(
  '/stats',
  (request) => request.respond(200, { 'Content-Type': 'application/json' }, JSON.stringify(server?.stats() ?? {})),
  { inline: true },
);

router.get(
  '/gc',
  (request) => {
    globalThis.gc?.();
    request.respond(200, { 'Content-Type': 'text/plain' }, globalThis.gc === undefined ? 'no gc\n' : 'collected\n');
  },
  { inline: true },
);

async function main() {
  const threads = parseThreads(process.env['THREADS'] ?? '0');
  const options = { compression: false, logLevel: process.env['LOG_LEVEL'] ?? 'error' };
  server =
    threads === 0
      ? createServer(router, { ...options, websocketHandler })
      : createServer({ ...options, app: new URL(import.meta.url), threads });
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      const started = Date.now();
      void server.close().then(() => console.log(`closed in ${Date.now() - started} ms`));
    });
  }
  const address = await server.listen(Number(process.env['PORT'] ?? 8080), '127.0.0.1');
  console.log(`listening on ${address.url}`);
}

if (isMainThread) void main();
