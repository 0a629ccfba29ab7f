import { Router } from '@mummyx/core';

const page = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>MummyX demo</title></head>
<body>
<h1>MummyX demo</h1>
<p>This server runs on <code>@mummyx/core</code>. Try:</p>
<ul>
<li><a href="/health">/health</a> — server status as JSON</li>
<li><code>curl -d hello http://127.0.0.1:8080/echo</code> — echoes the body</li>
</ul>
</body>
</html>
`;

/** The demo's routes. */
export function createDemoRouter(): Router {
  const router = new Router();
  const started = Date.now();
  router.get('/', (request) => {
    request.respond(200, { 'Content-Type': 'text/html; charset=utf-8' }, page);
  });
  router.get('/health', (request) => {
    const body = JSON.stringify({ status: 'ok', uptimeMs: Date.now() - started });
    request.respond(200, { 'Content-Type': 'application/json' }, body);
  });
  router.post('/echo', (request) => {
    request.respond(200, { 'Content-Type': request.headers.get('content-type') ?? 'text/plain' }, request.body);
  });
  return router;
}
