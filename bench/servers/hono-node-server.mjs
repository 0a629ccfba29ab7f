// The Hono hello app (hono-hello-app.mjs) on @hono/node-server (node:http), the baseline of
// bench/fetch.mjs. By default @hono/node-server replaces the global Request and Response with its
// own light classes (which skip building web streams and Headers until something reads them);
// OVERRIDE_GLOBALS=0 turns that off, so the app gets Node's own Request and Response, as it does
// under MummyX. PORT from the environment, bound to 127.0.0.1, prints
// `listening on http://127.0.0.1:PORT`.
import { serve } from '@hono/node-server';
import { app } from './hono-hello-app.mjs';

const overrideGlobalObjects = process.env['OVERRIDE_GLOBALS'] !== '0';
const server = serve(
  { fetch: app.fetch, port: Number(process.env['PORT'] ?? 8080), hostname: '127.0.0.1', overrideGlobalObjects },
  (info) => {
    console.log(`listening on http://127.0.0.1:${info.port}`);
  },
);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections?.();
  });
}
