// MummyX MCP benchmark server: THREADS=0 (inline), N workers or MIN-MAX (elastic);
// MCP_STATELESS=1 for stateless.
import { createServer, parseThreads } from '@mummyx/core';

const threads = parseThreads(process.env.THREADS ?? '0');
const app = new URL('./mcp-mummyx-app.mjs', import.meta.url);
const server =
  threads !== 0
    ? createServer({ app, threads, maxBodyBytes: 4 * 1024 * 1024 })
    : createServer((await import(app.href)).router, { maxBodyBytes: 4 * 1024 * 1024 });
const { url } = await server.listen(Number(process.env.PORT ?? 0));
console.log(`listening on ${url}`);
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
