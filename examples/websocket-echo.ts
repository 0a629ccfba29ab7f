// WebSocket echo at /ws: greets every new connection with "Hello world from WebSocket!", then
// sends each text or binary message back as it came. Any other path answers 404.
// THREADS: 0 = inline (default), N = fixed pool, MIN-MAX = elastic pool. PORT (default 8080).
//
// One file is both the app module (imported by every worker) and the main program: the part
// that starts the server runs on the main thread only. In threaded mode the connection belongs
// to the worker whose handler upgraded it, and its events run there, one at a time.
import { isMainThread } from 'node:worker_threads';
import { createServer, parseThreads, Router, type ServerOptions } from '@mummyx/core';

type WebSocketHandler = NonNullable<ServerOptions['websocketHandler']>;

export const router = new Router();

router.get('/ws', (request) => {
  const websocket = request.upgradeToWebSocket();
  // Sends may start at once, before the 101 has gone out: they are queued behind it.
  websocket.send('Hello world from WebSocket!');
});

/** Every event of every connection; `open`, `error` and `close` need nothing here. */
export const websocketHandler: WebSocketHandler = (websocket, event, message) => {
  if (event !== 'message' || message === undefined) return;
  if (message.kind === 'text' || message.kind === 'binary') websocket.send(message.data);
};

// Not awaited at the top level: the server imports this module too, and a
// module cannot finish importing itself while its own top-level await waits.
async function main(): Promise<void> {
  const threads = parseThreads(process.env['THREADS'] ?? '0');
  const server =
    threads === 0
      ? createServer(router, { websocketHandler, compression: false })
      : createServer({ app: new URL(import.meta.url), threads, compression: false });
  const address = await server.listen(Number(process.env['PORT'] ?? 8080));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void server.close());
  }
  // Handlers first: a signal sent as soon as the line below is read must find them.
  console.log(`listening on ${address.url}`);
}

if (isMainThread) void main();
