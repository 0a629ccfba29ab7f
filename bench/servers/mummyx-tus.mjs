// MummyX tus server for bench/uploads.mjs: TusServer from @mummyx/core/tus at /files/, inline
// mode. UPLOAD_DIR and PORT from the environment; prints `listening on http://127.0.0.1:PORT`.
import { createServer, Router } from '@mummyx/core';
import { TusServer } from '@mummyx/core/tus';

const tus = new TusServer({ directory: process.env['UPLOAD_DIR'], basePath: '/files/' });
const router = new Router();
tus.mount(router);
const server = createServer(router, { logHandler: () => {} });
const address = await server.listen(Number(process.env['PORT'] ?? 8080));
console.log(`listening on ${address.url}`);
process.once('SIGTERM', () => void Promise.all([server.close(), tus.close()]).then(() => process.exit(0)));
