// Raw node:http with an *asynchronous* 10 ms handler, for bench/threads.mjs: GET / waits 10 ms
// with setTimeout (the event loop stays free), then answers "abcdefghijklmnopqrstuvwxyz".
// PORT from the environment, bound to 127.0.0.1, prints `listening on http://127.0.0.1:PORT`.
import { createServer } from 'node:http';

const body = 'abcdefghijklmnopqrstuvwxyz';
const length = String(Buffer.byteLength(body));
const port = Number(process.env['PORT'] ?? 8080);

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

server.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
