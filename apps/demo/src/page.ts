/**
 * The demo's single page: live MCP sessions, tool calls and broadcasts (server-sent events from
 * `/events`), a WebSocket chat (`/chat`), a tus upload with a progress bar (`/files/`), and the
 * blocking-work button that shows the worker threads at work. Plain HTML and script, no build step.
 */
export const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>MummyX demo</title>
<link rel="icon" href="data:,">
<style>
  :root { --line: #d8dbe0; --muted: #5f6670; --accent: #2f6fde; }
  body { font: 15px/1.45 system-ui, sans-serif; margin: 1.5em auto; max-width: 68em; padding: 0 1em; color: #1d2128; }
  h1 { margin: 0 0 .2em; font-size: 1.6em; }
  h2 { font-size: 1.05em; margin: .2em 0 .5em; }
  .lead { color: var(--muted); margin-top: 0; }
  .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(20em, 1fr)); gap: 1em; }
  section { border: 1px solid var(--line); border-radius: 8px; padding: .6em 1em 1em; }
  ul.feed { list-style: none; margin: 0; padding: 0; max-height: 14em; overflow: auto; font-size: 13px; }
  ul.feed li { padding: .2em 0; border-bottom: 1px solid #f0f1f3; font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
  .empty { color: var(--muted); font-style: italic; }
  code { background: #eef0f3; padding: 0 .25em; border-radius: 3px; font-size: 13px; }
  table.endpoints td { padding: .1em .6em .1em 0; vertical-align: top; }
  progress { width: 100%; height: 1.1em; }
  .tag { display: inline-block; border-radius: 3px; padding: 0 .35em; font-size: 12px; background: #e7eefc; color: #1b4fb0; }
  .tag.closed, .tag.failed { background: #fbe9e9; color: #a32020; }
  .tag.finished { background: #e5f5ea; color: #1c6b34; }
  input[type=text] { width: 70%; }
</style>
</head>
<body>
<h1>MummyX demo</h1>
<p class="lead">An MCP tool server on MummyX: every MCP session lives on one worker thread, so a tool that blocks
(<code>cpu_work</code>, a synchronous SQLite query) stalls only its own session. This page watches it live.</p>

<div class="grid">
<section id="connect">
  <h2>Connect an MCP client</h2>
  <table class="endpoints">
    <tr><td>Streamable HTTP</td><td><code id="urlMcp"></code></td></tr>
    <tr><td>Legacy SSE</td><td><code id="urlSse"></code></td></tr>
    <tr><td>WebSocket</td><td><code id="urlWs"></code> (subprotocol <code>mcp</code>)</td></tr>
  </table>
  <p>Claude Desktop: <code>npx -y @mummyx/demo claude-config --install</code></p>
</section>

<section>
  <h2>Sessions <span id="sessionCount" class="tag">0 open</span></h2>
  <ul id="sessions" class="feed"><li class="empty">No MCP session yet.</li></ul>
</section>

<section>
  <h2>Tool calls</h2>
  <ul id="tools" class="feed"><li class="empty">No tool called yet.</li></ul>
</section>

<section>
  <h2>Broadcasts</h2>
  <ul id="broadcasts" class="feed"><li class="empty">Call the <code>broadcast</code> tool to see a message here.</li></ul>
</section>

<section>
  <h2>Upload a file (tus)</h2>
  <input id="file" type="file">
  <progress id="uploadProgress" value="0" max="1"></progress>
  <div id="uploadStatus" class="empty">Resumable upload in 1 MiB chunks; then ask for <code>hash_upload</code>.</div>
</section>

<section>
  <h2>Chat (WebSocket)</h2>
  <form id="chatForm"><input id="chatText" type="text" placeholder="Say something" autocomplete="off"> <button>Send</button></form>
  <ul id="chat" class="feed"></ul>
</section>

<section>
  <h2>Threads</h2>
  <button id="work">Run 1 s of blocking work</button>
  <button id="ping">Ping</button>
  <span id="pingResult"></span>
  <p id="stats" class="empty"></p>
</section>
</div>

<script>
  const $ = (id) => document.getElementById(id);
  const time = () => new Date().toLocaleTimeString();

  /** Prepends a line to a feed; parts are strings or [text, className] tags. */
  function addLine(feedId, parts) {
    const feed = $(feedId);
    feed.querySelector('.empty')?.remove();
    const item = document.createElement('li');
    for (const part of parts) {
      if (Array.isArray(part)) {
        const tag = document.createElement('span');
        tag.className = 'tag ' + part[1];
        tag.textContent = part[0];
        item.append(tag, ' ');
      } else {
        item.append(part + ' ');
      }
    }
    feed.prepend(item);
    while (feed.children.length > 200) feed.lastElementChild.remove();
    return item;
  }

  const wsOrigin = location.origin.replace(/^http/, 'ws');
  $('urlMcp').textContent = location.origin + '/mcp';
  $('urlSse').textContent = location.origin + '/sse';
  $('urlWs').textContent = wsOrigin + '/ws';

  // Live activity: one EventSource, one event name per kind.
  const openSessions = new Set();
  const events = new EventSource('/events');
  const parse = (event) => { try { return JSON.parse(event.data); } catch { return {}; } };
  events.addEventListener('hello', () => document.body.dataset.live = 'true');
  events.addEventListener('session', (event) => {
    const session = parse(event);
    if (session.state === 'open') openSessions.add(session.id); else openSessions.delete(session.id);
    $('sessionCount').textContent = openSessions.size + ' open';
    addLine('sessions', [time(), [session.state, session.state], session.transport, String(session.id).slice(0, 8)]);
  });
  events.addEventListener('tool', (event) => {
    const call = parse(event);
    const took = call.elapsedMs === undefined ? '' : call.elapsedMs + ' ms';
    addLine('tools', [time(), [call.state, call.state], call.tool, took, 'on ' + call.thread, 'session ' + String(call.session).slice(0, 8)]);
  });
  events.addEventListener('broadcast', (event) => {
    const message = parse(event);
    addLine('broadcasts', [time(), message.message]).dataset.broadcast = message.message;
  });
  events.addEventListener('upload', (event) => {
    const upload = parse(event);
    addLine('tools', [time(), ['upload', 'finished'], upload.name, upload.bytes + ' bytes', 'id ' + upload.id]);
  });
  events.addEventListener('work', (event) => addLine('tools', [time(), ['work', 'finished'], event.data]));
  events.addEventListener('chat', () => {});

  // Chat.
  const socket = new WebSocket(wsOrigin + '/chat');
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(event.data);
    addLine('chat', [message.from + ':', message.text]);
  });
  $('chatForm').addEventListener('submit', (event) => {
    event.preventDefault();
    if ($('chatText').value !== '' && socket.readyState === WebSocket.OPEN) socket.send($('chatText').value);
    $('chatText').value = '';
  });

  // A small tus 1.0.0 client: create (POST), then PATCH chunks; resumes from HEAD after an error.
  // 1 MiB: within the server's default maxBodyBytes, whether or not the upload route streams.
  const chunkBytes = 1024 * 1024;
  const tusHeaders = { 'Tus-Resumable': '1.0.0' };
  const base64 = (text) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));

  function patch(url, offset, blob, onProgress) {
    return new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      request.open('PATCH', url);
      request.setRequestHeader('Tus-Resumable', '1.0.0');
      request.setRequestHeader('Upload-Offset', String(offset));
      request.setRequestHeader('Content-Type', 'application/offset+octet-stream');
      request.upload.onprogress = (event) => onProgress(event.loaded);
      request.onload = () => request.status === 204
        ? resolve(Number(request.getResponseHeader('Upload-Offset')))
        : reject(new Error('PATCH answered ' + request.status));
      request.onerror = () => reject(new Error('network error'));
      request.send(blob);
    });
  }

  async function upload(file) {
    const created = await fetch('/files/', {
      method: 'POST',
      headers: { ...tusHeaders, 'Upload-Length': String(file.size), 'Upload-Metadata': 'filename ' + base64(file.name) },
    });
    if (created.status !== 201) throw new Error('creating the upload answered ' + created.status);
    const url = new URL(created.headers.get('Location'), location.href).href;
    const id = url.split('/').filter(Boolean).pop();
    let offset = 0;
    let failures = 0;
    while (offset < file.size) {
      try {
        offset = await patch(url, offset, file.slice(offset, offset + chunkBytes), (sent) => {
          $('uploadProgress').value = (offset + sent) / file.size;
        });
        failures = 0;
      } catch (error) {
        if (++failures > 3) throw error;
        const head = await fetch(url, { method: 'HEAD', headers: tusHeaders });
        offset = Number(head.headers.get('Upload-Offset'));
      }
      $('uploadProgress').value = offset / file.size;
    }
    return id;
  }

  $('file').addEventListener('change', async () => {
    const file = $('file').files[0];
    if (!file) return;
    $('uploadProgress').value = 0;
    $('uploadStatus').textContent = 'uploading ' + file.name + '…';
    try {
      const id = await upload(file);
      $('uploadProgress').value = 1;
      $('uploadStatus').textContent = '';
      $('uploadStatus').append('done: ' + file.name + ', upload id ', Object.assign(document.createElement('code'), { id: 'uploadId', textContent: id }),
        ' — ask your MCP client to call hash_upload with it.');
      document.body.dataset.uploaded = id;
    } catch (error) {
      $('uploadStatus').textContent = 'upload failed: ' + error.message;
    }
  });

  // Threads.
  $('work').addEventListener('click', async () => {
    addLine('tools', [time(), ['work', 'started'], 'blocking work on a worker']);
    await fetch('/work?rounds=3000000');
  });
  $('ping').addEventListener('click', async () => {
    const started = performance.now();
    const reply = await (await fetch('/ping')).json();
    $('pingResult').textContent = Math.round(performance.now() - started) + ' ms (worker ' + reply.thread + ')';
  });

  setInterval(async () => {
    try {
      const stats = await (await fetch('/stats')).json();
      const pool = stats.pool ?? {};
      $('stats').textContent = 'workers ' + pool.workers + ' (busy ' + pool.busyWorkers + '), requests ' +
        stats.requestsHandled + ', streams ' + stats.streams + ', websockets ' + stats.websockets;
    } catch {
      $('stats').textContent = 'server unreachable';
    }
  }, 1000);
</script>
</body>
</html>
`;
