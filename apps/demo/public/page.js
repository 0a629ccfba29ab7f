import { TimeChart, drawWorkers } from './charts.js';

const $ = (id) => document.getElementById(id);
/** The time of day of an ISO time, or of now. */
const time = (iso) => (iso === undefined ? new Date() : new Date(iso)).toLocaleTimeString();

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
// The Claude Desktop command as the user can run it where they started the demo.
fetch('/info')
  .then((response) => response.json())
  .then((info) => {
    if (info.claudeConfigCommand) $('claudeCommand').textContent = info.claudeConfigCommand;
    if (info.node) {
      const tag = document.createElement('span');
      tag.className = 'tag node';
      tag.id = 'node';
      tag.textContent = 'node ' + info.node;
      document.querySelector('h1').append(' ', tag);
    }
    document.body.dataset.info = 'loaded';
  })
  .catch(() => {});

const parseJson = (text) => {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
};
const shortId = (id) => String(id).slice(0, 8);
/** In a cluster (mummyx-demo --redis), the node an event happened on, as a tag; otherwise nothing. */
const nodeTag = (data) => (data.node === undefined ? '' : ['node ' + data.node, 'node']);

// Live activity: one EventSource, one event name per kind. The first event, `state`, says what is
// open and running now and replays the last events; every event after it is live.
let openSessions = new Set();
function showSessionCount() {
  $('sessionCount').textContent = openSessions.size + ' open';
}

/** How each activity event is shown; `at` is the time the server recorded it (undefined: now). */
const show = {
  session(session, at) {
    addLine('sessions', [
      time(at),
      [session.state, session.state],
      session.transport,
      shortId(session.id),
      nodeTag(session),
    ]);
  },
  tool(call, at) {
    const took = call.elapsedMs === undefined ? '' : call.elapsedMs + ' ms';
    addLine('tools', [
      time(at),
      [call.state, call.state],
      call.tool,
      took,
      'on ' + call.thread,
      'session ' + shortId(call.session),
      nodeTag(call),
    ]);
  },
  broadcast(message, at) {
    addLine('broadcasts', [time(at), message.message, nodeTag(message)]).dataset.broadcast = message.message;
  },
  upload(upload, at) {
    addLine('tools', [
      time(at),
      ['upload', 'finished'],
      upload.name,
      upload.bytes + ' bytes',
      'id ' + upload.id,
      nodeTag(upload),
    ]);
  },
  work(work, at) {
    addLine('tools', [
      time(at),
      ['finished', 'finished'],
      'blocking work',
      work.elapsedMs + ' ms',
      'on ' + work.thread,
      nodeTag(work),
    ]);
  },
};

// MCP tasks: one line per task, updated in place as its status changes (an expired task is removed).
function showTaskCount() {
  const working = $('tasks').querySelectorAll('li[data-status="working"], li[data-status="input_required"]').length;
  $('taskCount').textContent = working + ' working';
}
function showTask(task, at) {
  const feed = $('tasks');
  let item = [...feed.children].find((line) => line.dataset.task === task.id);
  if (task.status === 'expired') {
    item?.remove();
    showTaskCount();
    return;
  }
  if (item === undefined) {
    feed.querySelector('.empty')?.remove();
    item = document.createElement('li');
    item.dataset.task = task.id;
    feed.prepend(item);
    while (feed.children.length > 200) feed.lastElementChild.remove();
  }
  item.dataset.status = task.status;
  keepLast(record.tasks, { id: task.id, status: task.status, statusMessage: task.statusMessage });
  item.replaceChildren();
  const status = document.createElement('span');
  status.className = 'tag ' + task.status;
  status.textContent = task.status;
  item.append(time(at), ' ', status, ' ', task.tool || item.dataset.tool || '', ' ', shortId(task.id));
  if (task.tool) item.dataset.tool = task.tool;
  if (task.statusMessage !== undefined) {
    const message = document.createElement('span');
    message.className = 'muted';
    message.textContent = task.statusMessage;
    item.append(' ', message);
  }
  const node = nodeTag(task);
  if (node !== '') {
    const tag = document.createElement('span');
    tag.className = 'tag node';
    tag.textContent = node[0];
    item.append(' ', tag);
  }
  showTaskCount();
}

/** Each feed's "nothing yet" line, put back when a (re)connected stream starts over. */
const placeholders = new Map(
  ['sessions', 'tools', 'tasks', 'broadcasts'].map((id) => [id, $(id).querySelector('.empty')]),
);

const events = new EventSource('/events');
events.addEventListener('state', (event) => {
  const state = parseJson(event.data);
  // A reconnected stream starts over from the server's state.
  for (const [id, placeholder] of placeholders) $(id).replaceChildren(...(placeholder ? [placeholder] : []));
  const replayed = new Set();
  for (const record of state.recent ?? []) {
    const data = parseJson(record.data);
    replayed.add(
      record.event === 'session' ? 'session ' + data.id : record.event + ' ' + data.session + ' ' + record.at,
    );
    show[record.event]?.(data, record.at);
  }
  // Tasks as they are now (their changes are among the last events too, but only the latest counts).
  for (const task of state.tasks ?? []) showTask(task, task.at);
  showTaskCount();
  // Sessions opened, and tool calls started, before the last events and still open or running.
  for (const session of state.sessions ?? []) {
    if (!replayed.has('session ' + session.id)) show.session(session, session.at);
  }
  for (const call of state.running ?? []) {
    if (!replayed.has('tool ' + call.session + ' ' + call.at)) show.tool({ ...call, state: 'started' }, call.at);
  }
  openSessions = new Set((state.sessions ?? []).map((session) => session.id));
  showSessionCount();
});
events.addEventListener('hello', () => (document.body.dataset.live = 'true'));
events.addEventListener('session', (event) => {
  const session = parseJson(event.data);
  if (session.state === 'open') openSessions.add(session.id);
  else openSessions.delete(session.id);
  showSessionCount();
  show.session(session);
});
events.addEventListener('task', (event) => showTask(parseJson(event.data)));
for (const name of ['tool', 'broadcast', 'upload', 'work']) {
  events.addEventListener(name, (event) => show[name](parseJson(event.data)));
}

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
    request.onload = () =>
      request.status === 204
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
    $('uploadStatus').append(
      'done: ' + file.name + ', upload id ',
      Object.assign(document.createElement('code'), { id: 'uploadId', textContent: id }),
      ' — ask your MCP client to call hash_upload with it.',
    );
    document.body.dataset.uploaded = id;
  } catch (error) {
    $('uploadStatus').textContent = 'upload failed: ' + error.message;
  }
});

// Threads: live charts from server.stats() and a ping that keeps going while blocking work runs.
const poolChart = new TimeChart($('poolChart'), {
  series: [
    { name: 'workers', className: 'workers' },
    { name: 'busy', className: 'busy' },
    { name: 'queue', className: 'queue' },
  ],
});
const timeChart = new TimeChart($('timeChart'), {
  isLog: true,
  series: [
    { name: 'wait50', className: 'wait50' },
    { name: 'wait99', className: 'wait99' },
    { name: 'run50', className: 'run50' },
    { name: 'run99', className: 'run99' },
  ],
});
const pingChart = new TimeChart($('pingChart'), { isLog: true, series: [{ name: 'ping', className: 'ping' }] });

/** What the charts were drawn from, and every task status shown, for the curious (and the page's browser test). */
const record = { pings: [], works: [], tasks: [] };
window.mummyxDemo = record;
const keepLast = (list, item, max = 500) => {
  list.push(item);
  if (list.length > max) list.shift();
};

let runningWorks = 0;
let pingsInFlight = 0;

/** One ping: its round trip goes on the chart at the time it was sent. */
async function ping() {
  if (pingsInFlight >= 20) return undefined; // the server is not answering: do not pile up more
  pingsInFlight++;
  const sentAt = performance.now();
  try {
    const reply = await (await fetch('/ping', { cache: 'no-store' })).json();
    const receivedAt = performance.now();
    const ms = receivedAt - sentAt;
    pingChart.add(sentAt, { ping: ms });
    keepLast(record.pings, { sentAt, receivedAt, ms, thread: reply.thread });
    return { ms, thread: reply.thread };
  } catch {
    return undefined;
  } finally {
    pingsInFlight--;
  }
}

// Every 500 ms at rest; every 100 ms while blocking work runs, to see whether it stalls.
let lastPingAt = 0;
setInterval(() => {
  const now = performance.now();
  if (now - lastPingAt >= (runningWorks > 0 ? 100 : 500)) {
    lastPingAt = now;
    void ping();
  }
}, 50);

$('work').addEventListener('click', async () => {
  runningWorks++;
  const startedAt = performance.now();
  const closeBand = pingChart.band(startedAt);
  document.body.dataset.work = 'running';
  addLine('tools', [time(), ['started', 'started'], 'blocking work']);
  try {
    await (await fetch('/work?rounds=3000000', { cache: 'no-store' })).json();
  } finally {
    const finishedAt = performance.now();
    closeBand(finishedAt);
    keepLast(record.works, { startedAt, finishedAt });
    runningWorks--;
    if (runningWorks === 0) document.body.dataset.work = 'done';
  }
});
$('ping').addEventListener('click', async () => {
  const result = await ping();
  $('pingResult').textContent =
    result === undefined ? 'no answer' : Math.round(result.ms) + ' ms (thread ' + result.thread + ')';
});

const round = (ms) => (ms >= 10 ? Math.round(ms) : ms.toFixed(1));
let isStatsInFlight = false;
setInterval(async () => {
  if (isStatsInFlight) return;
  isStatsInFlight = true;
  try {
    const stats = await (await fetch('/stats', { cache: 'no-store' })).json();
    const now = performance.now();
    const pool = stats.pool;
    if (pool === undefined) {
      $('poolMode').textContent = 'inline: one thread';
      $('workerSummary').textContent = 'none: handlers run on the IO thread';
      poolChart.add(now, {});
      timeChart.add(now, {});
    } else {
      $('poolMode').textContent = pool.workers + ' worker' + (pool.workers === 1 ? '' : 's');
      drawWorkers($('workers'), { busy: pool.busyWorkers, idle: pool.idleWorkers, starting: pool.startingWorkers });
      $('workerSummary').textContent =
        pool.busyWorkers + ' busy, ' + pool.idleWorkers + ' idle, ' + pool.queuedRequests + ' queued';
      poolChart.add(now, { workers: pool.workers, busy: pool.busyWorkers, queue: pool.queuedRequests });
      const times = {
        wait50: pool.waitTime.p50,
        wait99: pool.waitTime.p99,
        run50: pool.runTime.p50,
        run99: pool.runTime.p99,
      };
      if (pool.runTime.count > 0) timeChart.add(now, times);
      document.body.dataset.pool = String(pool.workers);
    }
    const workers = pool === undefined ? 'no workers (inline)' : `workers ${pool.workers} (busy ${pool.busyWorkers})`;
    $('stats').textContent =
      `${workers}, requests ${stats.requestsHandled}, connections ${stats.connections}, ` +
      `event streams ${stats.streams}, WebSockets ${stats.websockets}, MCP sessions bound ${stats.sessions}` +
      (pool === undefined ? '' : `, worker restarts ${pool.workerRestarts}`);
  } catch {
    $('stats').textContent = 'server unreachable';
  } finally {
    isStatsInFlight = false;
  }
}, 500);

// Redraw at most once per frame, a few times a second.
setInterval(() => {
  requestAnimationFrame(() => {
    const now = performance.now();
    poolChart.draw(now);
    timeChart.draw(now);
    pingChart.draw(now);
    const last = pingChart.samples.at(-1);
    if (last !== undefined) $('pingSummary').textContent = 'last ' + round(last.values.ping) + ' ms';
  });
}, 250);
