// Server-sent events: a per-client counter plus a `news` topic every client subscribes to.
//   GET /          a page that shows both with the browser's EventSource
//   GET /events    the event stream: `counter` once a second (resumes after Last-Event-ID), and `news`
//   POST /publish  sends the request body as a `news` event to every open stream
// THREADS: 0 = inline (default), N = fixed pool, MIN-MAX = elastic pool. PORT (default 8080).
//
//   curl -N http://127.0.0.1:8080/events
//   curl -d 'hello' http://127.0.0.1:8080/publish
//
// One file is both the app module (imported by every worker) and the main program: the part
// that starts the server runs on the main thread only.
import { isMainThread } from 'node:worker_threads';
import { createServer, parseThreads, publish, Router } from '@mummyx/core';

const page = `<!doctype html>
<meta charset="utf-8">
<title>MummyX server-sent events</title>
<style>body { font: 16px system-ui, sans-serif; margin: 2em; } #news li { margin: .2em 0; }</style>
<h1>Counter: <span id="counter">…</span></h1>
<form id="form"><input id="text" placeholder="Some news" autocomplete="off"> <button>Publish</button></form>
<ul id="news"></ul>
<p id="state">connecting…</p>
<script>
  const source = new EventSource('/events');
  const $ = (id) => document.getElementById(id);
  source.addEventListener('open', () => ($('state').textContent = 'connected'));
  source.addEventListener('error', () => ($('state').textContent = 'reconnecting…'));
  source.addEventListener('counter', (event) => ($('counter').textContent = event.data));
  source.addEventListener('news', (event) => {
    const item = document.createElement('li');
    item.textContent = event.data;
    $('news').prepend(item);
  });
  $('form').addEventListener('submit', (event) => {
    event.preventDefault();
    fetch('/publish', { method: 'POST', body: $('text').value });
    $('text').value = '';
  });
</script>
`;

export const router = new Router();

router.get('/', (request) => request.respond(200, { 'Content-Type': 'text/html; charset=utf-8' }, page));

router.get('/events', (request) => {
  // A reconnecting EventSource sends the last id it saw: carry on counting from there.
  const last = Number(request.lastEventId ?? 0);
  let count = Number.isSafeInteger(last) && last >= 0 ? last : 0;
  const stream = request.respondSSE();
  stream.subscribe('news');
  const tick = (): void => {
    count++;
    stream.send({ event: 'counter', id: String(count), data: String(count) });
  };
  tick();
  // The handler returns now; the timer keeps the stream going on this thread until the client leaves.
  const timer = setInterval(tick, 1_000);
  stream.onClose(() => clearInterval(timer));
});

router.post('/publish', (request) => {
  const text = request.body.toString('utf8');
  // publish() works on any thread: on a worker it is one message to the IO thread, which fans out.
  publish('news', { event: 'news', data: text });
  request.respond(202, { 'Content-Type': 'text/plain; charset=utf-8' }, 'published\n');
});

// Not awaited at the top level: the server imports this module too, and a
// module cannot finish importing itself while its own top-level await waits.
async function main(): Promise<void> {
  const threads = parseThreads(process.env['THREADS'] ?? '0');
  const server = threads === 0 ? createServer(router) : createServer({ app: new URL(import.meta.url), threads });
  const address = await server.listen(Number(process.env['PORT'] ?? 8080));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void server.close());
  }
  // Handlers first: a signal sent as soon as the line below is read must find them.
  console.log(`listening on ${address.url}`);
}

if (isMainThread) void main();
