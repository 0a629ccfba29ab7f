// Minimal raw node:http SSE broadcaster: the baseline for bench/sse.mjs. Same routes and
// contract as mummyx-sse.mjs; a Set of responses, each event formatted once and written to
// every response. No heartbeat and no back-pressure limit (that is what "minimal" leaves out).
//   GET  /events, POST /publish {id, size}, POST /flood {from, count, size}, GET /stats
// PORT from the environment, bound to 127.0.0.1, prints `listening on http://127.0.0.1:PORT`.
import { createServer } from 'node:http';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { readJson } from './read-json.mjs';

const clients = new Set();
const json = { 'Content-Type': 'application/json' };
const payload = (size) => 'x'.repeat(size);

function publish(id, data) {
  const text = `id: ${id}\ndata: ${data}\n\n`;
  for (const res of clients) res.write(text);
  return clients.size;
}

function answer(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...json, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

const server = createServer(async (req, res) => {
  if (req.method === 'GET' && req.url === '/events') {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    res.flushHeaders();
    clients.add(res);
    res.on('close', () => clients.delete(res));
    return;
  }
  if (req.method === 'POST' && req.url === '/publish') {
    const { id, size } = await readJson(req);
    answer(res, 200, { subscribers: publish(id, payload(size)) });
    return;
  }
  if (req.method === 'POST' && req.url === '/flood') {
    const { from, count, size } = await readJson(req);
    answer(res, 202, {});
    const data = payload(size);
    for (let id = from; id < from + count; id++) {
      publish(id, data);
      await nextTurn();
    }
    return;
  }
  if (req.method === 'GET' && req.url === '/stats') {
    answer(res, 200, { streams: clients.size });
    return;
  }
  answer(res, 404, { error: 'not found' });
});

server.listen(Number(process.env['PORT'] ?? 8080), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
