// App module of bench/downloads.mjs: GET /file serves DOWNLOAD_FILE (1 GiB, sparse) with
// serveFile; GET /generated streams DOWNLOAD_BYTES made by a generator that sends one 64 KiB
// chunk again and again (so the figures are the server's, not a producer's allocations).
import { Router, serveFile } from '@mummyx/core';

const file = process.env['DOWNLOAD_FILE'];
const total = Number(process.env['DOWNLOAD_BYTES'] ?? 1024 * 1024 * 1024);
const chunk = Buffer.alloc(64 * 1024, 0x67);

export const router = new Router();
router.get('/file', (request) => serveFile(request, file));
router.get('/generated', (request) => {
  async function* body() {
    for (let sent = 0; sent < total; sent += chunk.length) {
      yield chunk;
      // A producer that awaits something now and then, as real ones do.
      if (sent % (1024 * 1024) === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  }
  request.respondStream(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(total) }, body());
});
