// MummyX download server for bench/downloads.mjs: the app of mummyx-download-app.mjs inline
// (THREADS=0) or on THREADS workers. PORT from the environment; prints `listening on URL`.
import { createServer } from '@mummyx/core';

const threads = Number(process.env['THREADS'] ?? 0);
const server = createServer({
  app: new URL('./mummyx-download-app.mjs', import.meta.url),
  ...(threads > 0 ? { threads } : {}),
  logHandler: () => {},
});
const address = await server.listen(Number(process.env['PORT'] ?? 8080));
console.log(`listening on ${address.url}`);
process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
