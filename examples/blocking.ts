// Mummy's wrk benchmark server: GET / blocks its thread ~10 ms, then answers
// "abcdefghijklmnopqrstuvwxyz". GET /cpu?ms=N burns CPU for N ms. GET /stats: server.stats() as JSON.
// THREADS: 0 = inline (default 64), N = fixed pool, MIN-MAX = elastic pool. PORT (default 8080).
//
// One file is both the app module (imported by every worker) and the main
// program: the part that starts the server runs on the main thread only.
import { isMainThread } from 'node:worker_threads';
import { createServer, parseThreads, Router, type Server } from '@mummyx/core';

const sleeper = new Int32Array(new SharedArrayBuffer(4));

export const router = new Router();

router.get('/', (request) => {
  Atomics.wait(sleeper, 0, 0, 10); // a synchronous 10 ms wait, like a blocking database call
  request.respond(200, { 'Content-Type': 'text/plain' }, 'abcdefghijklmnopqrstuvwxyz');
});

router.get('/cpu', (request) => {
  const ms = Math.min(Number(request.query.get('ms') ?? 10) || 0, 60_000);
  const until = performance.now() + ms;
  let spins = 0;
  while (performance.now() < until) spins++;
  request.respond(200, { 'Content-Type': 'text/plain' }, `burned ${ms} ms (${spins} spins)\n`);
});

router.get('/health', (request) => request.respond(200, { 'Content-Type': 'text/plain' }, 'ok\n'), { inline: true });

/** The server's counters (pool included), from the IO thread: how far an elastic pool has grown and started. */
let server: Server | undefined;
router.get(
  '/stats',
  (request) => request.respond(200, { 'Content-Type': 'application/json' }, JSON.stringify(server?.stats() ?? {})),
  { inline: true },
);

// Not awaited at the top level: the server imports this module too, and a
// module cannot finish importing itself while its own top-level await waits.
async function main(): Promise<void> {
  const threads = parseThreads(process.env['THREADS'] ?? '64');
  const started =
    threads === 0
      ? createServer(router, { compression: false })
      : createServer({ app: new URL(import.meta.url), threads, compression: false });
  server = started;
  const address = await started.listen(Number(process.env['PORT'] ?? 8080));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void started.close());
  }
  // Handlers first: a signal sent as soon as the line below is read must find them.
  console.log(`listening on ${address.url}`);
}

if (isMainThread) void main();
