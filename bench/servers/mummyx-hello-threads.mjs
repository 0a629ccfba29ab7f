// Hello through the worker pool, for bench/threads.mjs: serves bench/servers/mummyx-hello-app.mjs
// with THREADS=0 (inline, on the IO thread), THREADS=N (fixed pool of N workers) or
// THREADS=MIN-MAX (elastic pool). Compression off, as in examples/hello.ts.
// PORT from the environment, bound to 127.0.0.1, prints `listening on http://127.0.0.1:PORT`.
import { createServer, parseThreads } from '@mummyx/core';
import { router } from './mummyx-hello-app.mjs';

const appUrl = new URL('./mummyx-hello-app.mjs', import.meta.url);

const threads = parseThreads(process.env['THREADS'] ?? '0');
const server =
  threads === 0
    ? createServer(router, { compression: false })
    : createServer({ app: appUrl, threads, compression: false });
const address = await server.listen(Number(process.env['PORT'] ?? 8080), '127.0.0.1');
console.log(`listening on ${address.url}`);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => void server.close());
}
