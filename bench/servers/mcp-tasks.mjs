// MummyX Tasks benchmark server: THREADS=0 (inline) or N workers.
import { createServer, parseThreads } from '@mummyx/core';

const threads = parseThreads(process.env.THREADS ?? '2');
const app = new URL('./mcp-tasks-app.mjs', import.meta.url);
const server = threads !== 0 ? createServer({ app, threads }) : createServer((await import(app.href)).router);
const { url } = await server.listen(Number(process.env.PORT ?? 0));
console.log(`listening on ${url}`);
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
