// Raw `ws` echo: the baseline for bench/websocket.mjs. Same contract as examples/dist/websocket-echo.js:
// GET /ws upgrades, greets with "Hello world from WebSocket!", then echoes every message with its
// kind; permessage-deflate off; PORT from the environment, bound to 127.0.0.1, prints
// `listening on http://127.0.0.1:PORT`.
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { serve } from './serve.mjs';

const server = createServer((_req, res) => {
  res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': '10' });
  res.end('Not Found\n');
});
const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024, perMessageDeflate: false });

server.on('upgrade', (req, socket, head) => {
  if (req.url !== '/ws') {
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.send('Hello world from WebSocket!');
  });
});

serve(server, {
  beforeClose: () => {
    for (const ws of wss.clients) ws.terminate();
  },
});
