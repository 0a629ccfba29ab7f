// GET / → "Hello, World!". PORT (default 8080); binds 127.0.0.1.
import { createServer, Router } from '@mummyx/core';

const router = new Router();
router.get('/', (request) => {
  request.respond(200, { 'Content-Type': 'text/plain' }, 'Hello, World!');
});

const server = createServer(router, { compression: false });
const address = await server.listen(Number(process.env['PORT'] ?? 8080));
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void server.close());
}
// Handlers first: a signal sent as soon as the line below is read must find them.
console.log(`listening on ${address.url}`);
