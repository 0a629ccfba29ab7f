// App module for bench/servers/mummyx-hello-threads.mjs: GET / → "Hello, World!" (text/plain),
// the same route as examples/hello.ts. Every worker imports this module (threaded mode); the
// server imports it too and serves its router inline when THREADS=0.
import { Router } from '@mummyx/core';

export const router = new Router();

router.get('/', (request) => {
  request.respond(200, { 'Content-Type': 'text/plain' }, 'Hello, World!');
});
