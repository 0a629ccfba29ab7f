// Chat rooms over WebSocket topics. GET / is a small page; GET /ws?room=NAME&name=WHO joins a
// room: the connection subscribes to topic `room:NAME`, and every message it sends is published
// to that topic, so everyone in the room (the sender too) receives it; other rooms never do.
// Wire format, server to client, one JSON object per message:
//   {"type":"welcome","room","name"}  once, when joined
//   {"type":"join"|"leave","room","name"}
//   {"type":"message","room","name","text"}
// THREADS: 0 = inline (default), N = fixed pool, MIN-MAX = elastic pool. PORT (default 8080).
//
// One file is both the app module (imported by every worker) and the main program: the part that
// starts the server runs on the main thread only. `publish()` works on any thread: on a worker
// it is one message to the IO thread, which fans it out to every subscriber.
import { isMainThread } from 'node:worker_threads';
import { createServer, parseThreads, publish, Router, type Request, type ServerOptions } from '@mummyx/core';

type WebSocketHandler = NonNullable<ServerOptions['websocketHandler']>;
type WebSocket = ReturnType<Request['upgradeToWebSocket']>;

interface Member {
  room: string;
  name: string;
}

/** By handle: the upgrading handler and the events of a connection run on the same thread. */
const members = new WeakMap<WebSocket, Member>();

const namePattern = /^[\w-]{1,32}$/;
const maxTextLength = 2_000;

export const router = new Router();

router.get('/', (request) => {
  request.respond(200, { 'Content-Type': 'text/html; charset=utf-8' }, page);
});

router.get('/ws', (request) => {
  const room = request.query.get('room') ?? 'lobby';
  const name = request.query.get('name') ?? `guest-${Math.floor(Math.random() * 10_000)}`;
  if (!namePattern.test(room) || !namePattern.test(name)) {
    // A handler may refuse an upgrade request with an ordinary response.
    request.respond(400, { 'Content-Type': 'text/plain' }, 'room and name: 1 to 32 letters, digits, _ or -\n');
    return;
  }
  const websocket = request.upgradeToWebSocket();
  members.set(websocket, { room, name });
  publish(`room:${room}`, JSON.stringify({ type: 'join', room, name }));
  websocket.subscribe(`room:${room}`);
  websocket.send(JSON.stringify({ type: 'welcome', room, name }));
});

export const websocketHandler: WebSocketHandler = (websocket, event, message) => {
  const member = members.get(websocket);
  if (member === undefined) return;
  const { room, name } = member;
  if (event === 'message' && message?.kind === 'text') {
    const text = message.data.slice(0, maxTextLength);
    publish(`room:${room}`, JSON.stringify({ type: 'message', room, name, text }));
  } else if (event === 'close') {
    members.delete(websocket);
    publish(`room:${room}`, JSON.stringify({ type: 'leave', room, name }));
  }
};

const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>MummyX chat</title>
<style>
  body { font: 16px system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; }
  #log { border: 1px solid #ccc; height: 20rem; overflow-y: auto; padding: .5rem; }
  .notice { color: #777; }
  form { display: flex; gap: .5rem; margin: .5rem 0; }
  input[name=text] { flex: 1; }
</style>
</head>
<body>
<h1>MummyX chat</h1>
<form id="join">
  <input name="room" value="lobby" pattern="[\\w-]{1,32}" required aria-label="room">
  <input name="name" placeholder="your name" pattern="[\\w-]{1,32}" required aria-label="name">
  <button>Join</button>
</form>
<div id="log" aria-live="polite"></div>
<form id="say">
  <input name="text" autocomplete="off" disabled aria-label="message">
  <button disabled>Send</button>
</form>
<script>
  const log = document.getElementById('log');
  const join = document.getElementById('join');
  const say = document.getElementById('say');
  let socket;
  function line(text, notice) {
    const div = document.createElement('div');
    div.textContent = text;
    if (notice) div.className = 'notice';
    log.append(div);
    log.scrollTop = log.scrollHeight;
  }
  join.addEventListener('submit', (event) => {
    event.preventDefault();
    socket?.close();
    const form = new FormData(join);
    const url = new URL('/ws', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('room', form.get('room'));
    url.searchParams.set('name', form.get('name'));
    socket = new WebSocket(url);
    socket.addEventListener('message', (event) => {
      const m = JSON.parse(event.data);
      if (m.type === 'message') line(m.name + ': ' + m.text);
      else if (m.type === 'welcome') line('you joined ' + m.room + ' as ' + m.name, true);
      else line(m.name + (m.type === 'join' ? ' joined' : ' left'), true);
    });
    socket.addEventListener('open', () => say.querySelectorAll('input, button').forEach((e) => (e.disabled = false)));
    socket.addEventListener('close', () => line('disconnected', true));
  });
  say.addEventListener('submit', (event) => {
    event.preventDefault();
    const input = say.elements.text;
    if (input.value !== '' && socket?.readyState === WebSocket.OPEN) socket.send(input.value);
    input.value = '';
  });
</script>
</body>
</html>
`;

// Not awaited at the top level: the server imports this module too, and a
// module cannot finish importing itself while its own top-level await waits.
async function main(): Promise<void> {
  const threads = parseThreads(process.env['THREADS'] ?? '0');
  const options: ServerOptions = {
    // Browsers send Origin and do not apply CORS to WebSockets: list the pages allowed to connect.
    ...(process.env['ALLOWED_ORIGINS'] === undefined
      ? {}
      : { websocket: { allowedOrigins: process.env['ALLOWED_ORIGINS'].split(',') } }),
  };
  const server =
    threads === 0
      ? createServer(router, { ...options, websocketHandler })
      : createServer({ ...options, app: new URL(import.meta.url), threads });
  const address = await server.listen(Number(process.env['PORT'] ?? 8080));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void server.close());
  }
  // Handlers first: a signal sent as soon as the line below is read must find them.
  console.log(`listening on ${address.url}`);
}

if (isMainThread) void main();
