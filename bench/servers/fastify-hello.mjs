// Fastify 5 hello for bench/http.mjs. Same contract as examples/dist/hello.js:
// GET / → "Hello, World!" with Content-Type: text/plain and an explicit Content-Length,
// PORT from the environment, bound to 127.0.0.1, prints `listening on http://127.0.0.1:PORT`.
import Fastify from 'fastify';

const body = 'Hello, World!';
const length = String(Buffer.byteLength(body));
const port = Number(process.env['PORT'] ?? 8080);

const app = Fastify({ logger: false });
app.get('/', (_request, reply) => {
  reply.header('Content-Type', 'text/plain').header('Content-Length', length).send(body);
});

await app.listen({ port, host: '127.0.0.1' });
console.log(`listening on http://127.0.0.1:${app.server.address().port}`);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
