// Raw `ws` broadcast, the naive way: the baseline for the broadcast half of bench/websocket.mjs.
// GET /ws upgrades and sends "ready"; GET /publish?seq=N sends one 32-byte text message
// ("seq N" padded) to every client with a plain loop over wss.clients, then answers 200 with the
// number of clients. PORT from the environment, bound to 127.0.0.1, prints
// `listening on http://127.0.0.1:PORT`.
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { serve } from './serve.mjs';

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: true });

/** The broadcast payload: always 32 bytes. */
function messageOf(seq) {
  return `seq ${seq}`.padEnd(32, '.');
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  if (url.pathname !== '/publish') {
    res.writeHead(404, { 'Content-Length': '0' });
    res.end();
    return;
  }
  const message = messageOf(url.searchParams.get('seq') ?? '0');
  let sent = 0;
  for (const client of wss.clients) {
    client.send(message);
    sent++;
  }
  const body = String(sent);
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': String(body.length) });
  res.end(body);
});

server.on('upgrade', (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('error', () => {});
    ws.send('ready');
  });
});

serve(server, {
  beforeClose: () => {
    for (const ws of wss.clients) ws.terminate();
  },
});
