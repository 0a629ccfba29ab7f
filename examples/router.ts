// Path parameters, query strings, an echo route and a custom 404.
// PORT (default 8080); binds 127.0.0.1.
import { createServer, Router } from '@mummyx/core';

const router = new Router();

router.get('/', (request) => {
  request.respond(200, { 'Content-Type': 'text/plain' }, 'Try /users/42, /search?q=a&q=b, POST /echo\n');
});

// `:id` (or Mummy's `@id`) captures one path segment.
router.get('/users/:id', (request) => {
  request.respond(200, { 'Content-Type': 'application/json' }, JSON.stringify({ id: request.pathParams['id'] }));
});

// A literal route wins over a parameter route whatever the order they were added in.
router.get('/users/me', (request) => {
  request.respond(200, { 'Content-Type': 'application/json' }, JSON.stringify({ id: 'me' }));
});

// The query is an ordered multi-map: `get` is the first value, `getAll` every one.
router.get('/search', (request) => {
  const body = JSON.stringify({ q: request.query.getAll('q'), page: request.query.get('page') ?? '1' });
  request.respond(200, { 'Content-Type': 'application/json' }, body);
});

// Echoes the body with the request's content type.
router.post('/echo', (request) => {
  const type = request.headers.get('content-type') ?? 'application/octet-stream';
  request.respond(200, { 'Content-Type': type }, request.body);
});

// `*` is one segment, `**` the rest of the path.
router.get('/static/**', (request) => {
  request.respond(200, { 'Content-Type': 'text/plain' }, `static file ${request.path}\n`);
});

router.notFound = (request) => {
  request.respond(404, { 'Content-Type': 'text/plain' }, `nothing at ${request.path}\n`);
};

const server = createServer(router);
const address = await server.listen(Number(process.env['PORT'] ?? 8080));
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void server.close());
}
// Handlers first: a signal sent as soon as the line below is read must find them.
console.log(`listening on ${address.url}`);
