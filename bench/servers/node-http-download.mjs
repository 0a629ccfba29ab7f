// Raw node:http download server, the peer in bench/downloads.mjs: GET /file pipes DOWNLOAD_FILE
// (fs.createReadStream, its default 64 KiB reads) to the response; GET /generated writes
// DOWNLOAD_BYTES as one 64 KiB chunk again and again, waiting for 'drain' when the socket is full
// and for setImmediate after every MiB, as the MummyX app's generator does. Both with
// Content-Length. PORT from the environment; prints `listening on URL`.
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { serve } from './serve.mjs';

const file = process.env['DOWNLOAD_FILE'];
const total = Number(process.env['DOWNLOAD_BYTES'] ?? 1024 * 1024 * 1024);
const chunk = Buffer.alloc(64 * 1024, 0x67);

async function writeGenerated(res) {
  for (let sent = 0; sent < total; sent += chunk.length) {
    if (res.destroyed) return;
    if (!res.write(chunk)) {
      await new Promise((resolve) => {
        res.once('drain', resolve);
        res.once('close', resolve);
      });
    }
    if (sent % (1024 * 1024) === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  res.end();
}

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/file') {
    const size = statSync(file).size;
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) });
    createReadStream(file).pipe(res);
    return;
  }
  if (req.method === 'GET' && req.url === '/generated') {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(total) });
    void writeGenerated(res);
    return;
  }
  res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': '10' });
  res.end('Not Found\n');
});

serve(server);
