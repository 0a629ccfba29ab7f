// Raw node:http hello: the baseline for bench/http.mjs. Same contract as examples/dist/hello.js:
// GET / → "Hello, World!" with Content-Type: text/plain and an explicit Content-Length,
// PORT from the environment, bound to 127.0.0.1, prints `listening on http://127.0.0.1:PORT`.
import { createServer } from 'node:http';
import { serve } from './serve.mjs';

const body = 'Hello, World!';
const length = String(Buffer.byteLength(body));

const server = createServer((req, res) => {
  if (req.url === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': length });
    res.end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': '10' });
  res.end('Not Found\n');
});

serve(server);
