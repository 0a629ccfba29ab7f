// One node for bench/cluster.mjs: inline core server, joined to a Redis cluster when REDIS_URL is
// set (NODE_ID names it).
//   GET  /events/:topic   an SSE stream subscribed to the topic
//   POST /publish/:topic  publishes the body (text) to the topic; 204
//   POST /open            binds a new session key and answers it
//   GET  /session/:key    a session route: 200 "ok" on the node that holds the key
// PORT from the environment, bound to 127.0.0.1, prints `listening on http://127.0.0.1:PORT`.
import { randomUUID } from 'node:crypto';
import { createServer, Router } from '@mummyx/core';
import { attachRedis } from '@mummyx/redis';

const router = new Router();
const sessions = new Set();
router.get('/events/:topic', (request) => {
  const stream = request.respondSSE();
  stream.subscribe(request.pathParams.topic);
  stream.send({ event: 'ready', data: 'ready' });
});
router.post('/publish/:topic', (request) => {
  publishTo(request.pathParams.topic, request.body.toString());
  request.respond(204, {}, undefined);
});
router.post('/open', (request) => {
  const key = randomUUID();
  request.bindSession(key);
  sessions.add(key);
  request.respond(200, { 'Content-Type': 'text/plain' }, key);
});
router.get(
  '/session/:key',
  (request) => {
    const ok = sessions.has(request.pathParams.key);
    request.respond(ok ? 200 : 404, { 'Content-Type': 'text/plain' }, ok ? 'ok' : 'unknown');
  },
  { session: (request) => request.pathParams.key },
);

const server = createServer(router, { logLevel: 'error' });
const publishTo = (topic, data) => server.publish(topic, data);
const address = await server.listen(Number(process.env.PORT ?? 0));
if (process.env.REDIS_URL) {
  await attachRedis(server, { url: process.env.REDIS_URL, nodeId: process.env.NODE_ID, log: () => {} });
}
process.stdout.write(`listening on ${address.url}\n`);
