// One SSE load-client process for bench/sse.mjs, driven over IPC. It holds many raw node:net
// connections to GET /events and parses just enough of each stream: the response head, then
// events split on the blank line, reading each event's `id:` (chunk-size lines sit between
// events, since both servers write one chunk per event). Arrival times are wall-clock
// milliseconds (performance.timeOrigin + performance.now()), comparable across processes.
//
// Messages in:  {type:'connect', url, connections, concurrency}
//               {type:'watch', id}   report once every open connection has event `id`
//               {type:'counts'}      per-process totals
//               {type:'exit'}
// Messages out: {type:'connected', open, failed, ms}
//               {type:'watched', id} (ack, sent before the event can be missed)
//               {type:'arrived', id, times}   arrival time on each connection, sorted
//               {type:'counts', open, closed, events, gaps}
//               {type:'error', message}
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';

const now = () => performance.timeOrigin + performance.now();

/** @type {Array<{socket: import('node:net').Socket, buffer: string, headSeen: boolean, lastId: number, events: number, gaps: number, open: boolean}>} */
const connections = [];
/** id → {remaining, times} */
const watches = new Map();
let closedCount = 0;

function send(message) {
  if (process.connected) process.send(message);
}

function arrived(conn, id) {
  conn.events++;
  if (conn.lastId !== 0 && id !== conn.lastId + 1) conn.gaps++;
  conn.lastId = id;
  const watch = watches.get(id);
  if (watch === undefined) return;
  watch.times.push(now());
  if (--watch.remaining === 0) finishWatch(id, watch);
}

function finishWatch(id, watch) {
  watches.delete(id);
  watch.times.sort((a, b) => a - b);
  send({ type: 'arrived', id, times: watch.times });
}

function onData(conn, chunk) {
  let buffer = conn.buffer + chunk;
  if (!conn.headSeen) {
    const end = buffer.indexOf('\r\n\r\n');
    if (end === -1) {
      conn.buffer = buffer;
      return;
    }
    if (!buffer.startsWith('HTTP/1.1 200')) {
      send({ type: 'error', message: `unexpected response: ${JSON.stringify(buffer.slice(0, 200))}` });
      conn.socket.destroy();
      return;
    }
    conn.headSeen = true;
    conn.onHead();
    buffer = buffer.slice(end + 4);
  }
  let at = 0;
  for (;;) {
    const end = buffer.indexOf('\n\n', at);
    if (end === -1) break;
    const idAt = buffer.lastIndexOf('id: ', end);
    if (idAt >= at) {
      const lineEnd = buffer.indexOf('\n', idAt);
      arrived(conn, Number(buffer.slice(idAt + 4, lineEnd)));
    }
    at = end + 2;
  }
  conn.buffer = at === 0 ? buffer : buffer.slice(at);
}

function open(host, port, path) {
  return new Promise((resolve) => {
    const socket = connect({ host, port, noDelay: true });
    const conn = {
      socket,
      buffer: '',
      headSeen: false,
      lastId: 0,
      events: 0,
      gaps: 0,
      open: false,
      onHead: () => {
        conn.open = true;
        resolve(true);
      },
    };
    socket.setEncoding('latin1');
    socket.on('connect', () =>
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nAccept: text/event-stream\r\n\r\n`),
    );
    socket.on('data', (chunk) => onData(conn, chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      if (conn.open) {
        conn.open = false;
        closedCount++;
        // A watch must not wait for a connection that is gone.
        for (const [id, watch] of watches) if (--watch.remaining === 0) finishWatch(id, watch);
      }
      resolve(false);
    });
    connections.push(conn);
  });
}

async function connectAll({ url, connections: total, concurrency }) {
  const { hostname, port, pathname } = new URL(url);
  if (hostname !== '127.0.0.1') throw new Error(`refusing ${url}: loopback only`);
  const started = now();
  let next = 0;
  let failed = 0;
  const lane = async () => {
    while (next < total) {
      next++;
      if (!(await open(hostname, Number(port), pathname))) failed++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, lane));
  send({ type: 'connected', open: connections.filter((c) => c.open).length, failed, ms: now() - started });
}

process.on('message', (message) => {
  switch (message.type) {
    case 'connect':
      connectAll(message).catch((error) => send({ type: 'error', message: String(error?.stack ?? error) }));
      break;
    case 'watch': {
      const remaining = connections.filter((c) => c.open).length;
      const watch = { remaining, times: [] };
      watches.set(message.id, watch);
      send({ type: 'watched', id: message.id });
      if (remaining === 0) finishWatch(message.id, watch);
      break;
    }
    case 'counts': {
      let events = 0;
      let gaps = 0;
      for (const c of connections) {
        events += c.events;
        gaps += c.gaps;
      }
      send({ type: 'counts', open: connections.filter((c) => c.open).length, closed: closedCount, events, gaps });
      break;
    }
    case 'exit':
      for (const c of connections) c.socket.destroy();
      process.disconnect();
      break;
    default:
      send({ type: 'error', message: `unknown message ${JSON.stringify(message)}` });
  }
});

process.on('disconnect', () => {
  for (const c of connections) c.socket.destroy();
  process.exit(0);
});
