// MummyX SSE broadcaster for bench/sse.mjs: inline mode (handlers on the IO thread), every
// GET /events stream subscribed to topic `bench`, published with server.publish().
//   GET  /events              the event stream
//   POST /publish {id, size}  one event (`id: N`, `size` bytes of data) to every subscriber
//   POST /flood {from, count, size}  answers 202, then publishes ids from..from+count-1, one per
//                             event-loop turn (setImmediate), as fast as the server can fan out
//   GET  /stats               {"streams": N}
// PORT from the environment, bound to 127.0.0.1, prints `listening on http://127.0.0.1:PORT`.
// HEARTBEAT_MS overrides sse.heartbeatIntervalMs (default: the library's 15 000; 0 turns it off).
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createServer, Router } from '@mummyx/core';

const json = { 'Content-Type': 'application/json' };
const payload = (size) => 'x'.repeat(size);

const router = new Router();

router.get('/events', (request) => {
  const stream = request.respondSSE();
  stream.subscribe('bench');
});

router.post('/publish', (request) => {
  const { id, size } = JSON.parse(request.body.toString());
  const subscribers = server.publish('bench', { id: String(id), data: payload(size) });
  request.respond(200, json, JSON.stringify({ subscribers }));
});

router.post('/flood', async (request) => {
  const { from, count, size } = JSON.parse(request.body.toString());
  request.respond(202, json, '{}');
  const data = payload(size);
  for (let id = from; id < from + count; id++) {
    server.publish('bench', { id: String(id), data });
    await nextTurn();
  }
});

router.get('/stats', (request) => request.respond(200, json, JSON.stringify({ streams: server.stats().streams })));

const heartbeat = process.env['HEARTBEAT_MS'];
const server = createServer(router, {
  compression: false,
  logLevel: 'error',
  ...(heartbeat === undefined ? {} : { sse: { heartbeatIntervalMs: Number(heartbeat) } }),
});
const address = await server.listen(Number(process.env['PORT'] ?? 8080));
console.log(`listening on ${address.url}`);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
