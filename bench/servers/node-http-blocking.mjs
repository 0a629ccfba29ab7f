// Raw node:http with a *blocking* 10 ms handler, for bench/threads.mjs: GET / blocks the one
// JavaScript thread ~10 ms with Atomics.wait (like a synchronous database call), then answers
// "abcdefghijklmnopqrstuvwxyz" — the same workload as examples/dist/blocking.js, without a pool.
// PORT from the environment, bound to 127.0.0.1, prints `listening on http://127.0.0.1:PORT`.
import { createServer } from 'node:http';
import { serve } from './serve.mjs';

const body = 'abcdefghijklmnopqrstuvwxyz';
const length = String(Buffer.byteLength(body));
const sleeper = new Int32Array(new SharedArrayBuffer(4));

const server = createServer((req, res) => {
  if (req.url === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
    Atomics.wait(sleeper, 0, 0, 10);
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': length });
    res.end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': '10' });
  res.end('Not Found\n');
});

serve(server);
