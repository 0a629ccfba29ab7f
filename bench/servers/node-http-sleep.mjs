// Raw node:http with an *asynchronous* 10 ms handler, for bench/threads.mjs: GET / waits 10 ms
// with setTimeout (the event loop stays free), then answers "abcdefghijklmnopqrstuvwxyz".
// PORT from the environment, bound to 127.0.0.1, prints `listening on http://127.0.0.1:PORT`.
import { createServer } from 'node:http';
import { serve } from './serve.mjs';

const body = 'abcdefghijklmnopqrstuvwxyz';
const length = String(Buffer.byteLength(body));

const server = createServer((req, res) => {
  if (req.url === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
    setTimeout(() => {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': length });
      res.end(req.method === 'HEAD' ? undefined : body);
    }, 10);
    return;
  }
  res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': '10' });
  res.end('Not Found\n');
});

serve(server);
