// The demo's app module: every worker imports it, and so does the IO thread (for the routes
// pinned inline). Handlers here may block: they run on worker threads.
import { isMainThread, threadId } from 'node:worker_threads';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { publish, Router, type WebSocketHandler } from '@mummyx/core';
import { page } from './page.js';

export const router = new Router();

/** Set by the CLI on the IO thread, for `/stats`. */
let statsSource: (() => unknown) | undefined;
export function setStatsSource(source: () => unknown): void {
  statsSource = source;
}

router.get('/', (request) => {
  request.respond(200, { 'Content-Type': 'text/html; charset=utf-8' }, page);
});

// Pinned to the IO thread: it answers even while every worker is busy.
router.get(
  '/health',
  (request) => {
    request.respond(200, { 'Content-Type': 'application/json' }, JSON.stringify({ status: 'ok' }));
  },
  { inline: true },
);

router.get(
  '/stats',
  (request) => {
    request.respond(200, { 'Content-Type': 'application/json' }, JSON.stringify(statsSource?.() ?? {}));
  },
  { inline: true },
);

// A deliberately synchronous, CPU-heavy handler: it holds its worker, nobody else waits.
router.get('/work', (request) => {
  const rounds = Math.min(Math.max(Number(request.query.get('rounds') ?? 200_000) || 0, 1), 10_000_000);
  const started = performance.now();
  const key = pbkdf2Sync('demo', randomBytes(16), rounds, 32, 'sha256').toString('hex');
  const elapsedMs = Math.round(performance.now() - started);
  const result = { rounds, elapsedMs, thread: isMainThread ? 'io' : `worker ${threadId}`, key: key.slice(0, 16) };
  publish('activity', { event: 'work', data: JSON.stringify(result) });
  request.respond(200, { 'Content-Type': 'application/json' }, JSON.stringify(result));
});

router.get('/ping', (request) => {
  request.respond(200, { 'Content-Type': 'application/json' }, JSON.stringify({ thread: threadId }));
});

router.post('/echo', (request) => {
  request.respond(200, { 'Content-Type': request.headers.get('content-type') ?? 'text/plain' }, request.body);
});

// Live activity for the page: work results, chat lines and joins, over server-sent events.
router.get('/events', (request) => {
  const stream = request.respondSSE();
  stream.subscribe('activity');
  stream.send({ event: 'hello', data: 'connected' });
});

router.get('/chat', (request) => {
  const websocket = request.upgradeToWebSocket();
  websocket.subscribe('chat');
  websocket.send(JSON.stringify({ from: 'server', text: `welcome, you are #${websocket.id}` }));
});

/** Chat: every text message is published to the room and shown on the activity stream. */
export const websocketHandler: WebSocketHandler = (websocket, event, message) => {
  if (event === 'message' && message?.kind === 'text') {
    const text = message.data.slice(0, 500);
    publish('chat', JSON.stringify({ from: `#${websocket.id}`, text }));
    publish('activity', { event: 'chat', data: JSON.stringify({ from: websocket.id, text }) });
  }
};
