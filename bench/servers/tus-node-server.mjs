// @tus/server + @tus/file-store (the tus project's Node server) for bench/uploads.mjs, on a plain
// node:http server at /files. UPLOAD_DIR and PORT from the environment; prints
// `listening on http://127.0.0.1:PORT`.
import { createServer } from 'node:http';
import { FileStore } from '@tus/file-store';
import { Server } from '@tus/server';

const tus = new Server({ path: '/files', datastore: new FileStore({ directory: process.env['UPLOAD_DIR'] }) });
const server = createServer((req, res) => void tus.handle(req, res));
const port = Number(process.env['PORT'] ?? 8080);
server.listen(port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${port}`));
process.once('SIGTERM', () => server.close(() => process.exit(0)));
