import type { TestContext } from 'node:test';
import { createServer, Router, type Request, type Server } from '@mummyx/core';
import { attachRedis, type AttachRedisOptions, type RedisNode } from '@mummyx/redis';

export interface InProcessNode {
  name: string;
  server: Server;
  node: RedisNode;
  url: string;
  logs: string[];
}

/**
 * A small app for the cluster tests, one server per node in this process:
 * `/events/:topic` (an SSE stream subscribed to the topic), `/ws/:topic` (a
 * WebSocket subscribed to it), `/open` (binds a new session key and answers
 * it), `/session/:key` (a session route: answers which node served it, or
 * 404 when the session is not here), `/close/:key` (releases it).
 */
export async function startNode(
  t: TestContext,
  name: string,
  redisUrl: string,
  options: Partial<AttachRedisOptions> = {},
): Promise<InProcessNode> {
  const router = new Router();
  const bindings = new Map<string, () => void>();
  let next = 0;
  router.get('/events/:topic', (request) => {
    const stream = request.respondSSE();
    stream.subscribe(request.pathParams['topic']!);
    stream.send({ event: 'ready', data: name });
  });
  router.get('/ws/:topic', (request) => {
    const websocket = request.upgradeToWebSocket();
    websocket.subscribe(request.pathParams['topic']!);
    websocket.send(`ready ${name}`);
  });
  router.post('/open', (request) => {
    const key = `${name}-${++next}-${Math.random().toString(36).slice(2)}`;
    const binding = request.bindSession(key);
    bindings.set(key, () => binding.release());
    request.respond(200, { 'Content-Type': 'text/plain' }, key);
  });
  const sessionKey = (request: { pathParams: Record<string, string> }) => request.pathParams['key'];
  const answer = (request: Request): void => {
    const key = request.pathParams['key']!;
    if (!bindings.has(key)) request.respond(404, { 'Content-Type': 'text/plain' }, `no session ${key} on ${name}`);
    else request.respond(200, { 'Content-Type': 'text/plain' }, `${name}:${request.method}:${request.body.length}`);
  };
  router.get('/session/:key', answer, { session: sessionKey });
  router.post('/session/:key', answer, { session: sessionKey });
  router.get(
    '/stream/:key',
    (request) => {
      const key = request.pathParams['key']!;
      if (!bindings.has(key)) {
        request.respond(404, {}, 'gone');
        return;
      }
      const stream = request.respondSSE();
      stream.send({ event: 'from', data: name });
      const timer = setInterval(() => stream.send({ data: `tick from ${name}` }), 20);
      stream.onClose(() => clearInterval(timer));
    },
    { session: sessionKey },
  );
  router.post(
    '/close/:key',
    (request) => {
      const key = request.pathParams['key']!;
      bindings.get(key)?.();
      bindings.delete(key);
      request.respond(204, {}, undefined);
    },
    { session: sessionKey },
  );
  const server = createServer(router, { logLevel: 'error' });
  const address = await server.listen(0);
  const logs: string[] = [];
  const node = await attachRedis(server, {
    url: redisUrl,
    nodeId: name,
    log: (level, message) => logs.push(`${level}: ${message}`),
    ...options,
  });
  t.after(async () => {
    await server.close();
    await node.close();
  });
  return { name, server, node, url: address.url, logs };
}
