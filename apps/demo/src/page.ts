/** The demo's single page: live activity over SSE, a WebSocket chat, and a blocking-work button. */
export const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>MummyX demo</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 52em; padding: 0 1em; }
  section { border: 1px solid #ccc; border-radius: 6px; padding: .5em 1em 1em; margin: 1em 0; }
  #log { height: 12em; overflow: auto; background: #f6f6f6; padding: .5em; font-family: monospace; font-size: 13px; }
  code { background: #eee; padding: 0 .2em; }
</style>
</head>
<body>
<h1>MummyX demo</h1>
<p>Handlers run on worker threads. Start a blocking job and keep pinging: the pings stay fast,
because the job holds only its own worker.</p>
<section>
  <h2>Threads</h2>
  <button id="work">Run 2 s of blocking work</button>
  <button id="ping">Ping</button>
  <span id="pingResult"></span>
  <p id="stats"></p>
</section>
<section>
  <h2>Chat (WebSocket)</h2>
  <form id="chatForm"><input id="chatText" placeholder="Say something" autocomplete="off"> <button>Send</button></form>
  <ul id="chat"></ul>
</section>
<section>
  <h2>Activity (server-sent events)</h2>
  <div id="log"></div>
</section>
<script>
  const $ = (id) => document.getElementById(id);
  const log = (text) => { const line = document.createElement('div'); line.textContent = text; $('log').prepend(line); };

  const events = new EventSource('/events');
  events.addEventListener('hello', () => log('activity stream connected'));
  events.addEventListener('work', (event) => log('work done: ' + event.data));
  events.addEventListener('chat', (event) => log('chat: ' + event.data));

  $('work').addEventListener('click', async () => {
    log('work started');
    await fetch('/work?rounds=1000000');
  });
  $('ping').addEventListener('click', async () => {
    const started = performance.now();
    const reply = await (await fetch('/ping')).json();
    $('pingResult').textContent = Math.round(performance.now() - started) + ' ms (worker ' + reply.thread + ')';
  });

  const socket = new WebSocket(location.origin.replace('http', 'ws') + '/chat');
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(event.data);
    const item = document.createElement('li');
    item.textContent = message.from + ': ' + message.text;
    $('chat').append(item);
  });
  $('chatForm').addEventListener('submit', (event) => {
    event.preventDefault();
    socket.send($('chatText').value);
    $('chatText').value = '';
  });

  setInterval(async () => {
    const stats = await (await fetch('/stats')).json();
    const pool = stats.pool ?? {};
    $('stats').textContent = 'workers ' + pool.workers + ' (busy ' + pool.busyWorkers + '), requests ' +
      stats.requestsHandled + ', streams ' + stats.streams + ', websockets ' + stats.websockets;
  }, 1000);
</script>
</body>
</html>
`;
