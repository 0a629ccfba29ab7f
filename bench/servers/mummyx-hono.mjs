// The Hono hello app (hono-hello-app.mjs) on MummyX through fetchHandler, for bench/fetch.mjs:
// THREADS=0 (default) runs it inline on the IO thread, THREADS=N on a fixed pool of N workers
// (each imports hono-hello-app.mjs as the app module). Compression off, as in examples/hello.ts.
// PORT from the environment, bound to 127.0.0.1, prints `listening on http://127.0.0.1:PORT`.
import { createServer, parseThreads } from '@mummyx/core';
import { handler } from './hono-hello-app.mjs';

const appUrl = new URL('./hono-hello-app.mjs', import.meta.url);

const threads = parseThreads(process.env['THREADS'] ?? '0');
const server =
  threads === 0
    ? createServer(handler, { compression: false })
    : createServer({ app: appUrl, threads, compression: false });
const address = await server.listen(Number(process.env['PORT'] ?? 8080), '127.0.0.1');
console.log(`listening on ${address.url}`);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => void server.close());
}
