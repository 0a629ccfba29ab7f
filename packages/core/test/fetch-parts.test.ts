// toWebRequest and writeWebResponse, the two halves of fetchHandler, for route handlers that call a
// fetch handler themselves (the MCP transport parses a JSON body once, routes on it, then hands a
// body-less web Request and the parsed value to the SDK's fetch handler).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createServer, Router, toWebRequest, writeWebResponse } from '@mummyx/core';
import { httpGet, rawRequest } from './helpers.js';

test('toWebRequest with body: false leaves the body out and keeps URL, method and headers', async (t) => {
  const seen: Array<{ url: string; method: string; body: boolean; type: string | null; bytes: number }> = [];
  const router = new Router();
  router.post('/json', async (request) => {
    const web = toWebRequest(request, { body: false });
    assert.ok(web !== undefined);
    seen.push({
      url: web.url,
      method: web.method,
      body: web.body !== null,
      type: web.headers.get('content-type'),
      bytes: request.body.length,
    });
    await writeWebResponse(request, Response.json({ ok: true }, { headers: { 'X-Seen': 'yes' } }));
  });
  const server = createServer(router, { logLevel: 'error' });
  t.after(() => server.close());
  const { url } = await server.listen(0);
  const response = await httpGet(`${url}/json?a=1`, {
    method: 'POST',
    body: '{"x":1}',
    headers: { 'Content-Type': 'application/json' },
  });
  assert.equal(response.status, 200);
  assert.equal(response.headers['x-seen'], 'yes');
  assert.deepEqual(JSON.parse(response.body.toString()), { ok: true });
  assert.deepEqual(seen, [{ url: `${url}/json?a=1`, method: 'POST', body: false, type: 'application/json', bytes: 7 }]);
});

test('toWebRequest answers nothing and returns undefined for a Host that is not a host', async (t) => {
  const results: string[] = [];
  const router = new Router();
  router.get('/h', (request) => {
    results.push(toWebRequest(request) === undefined ? 'undefined' : 'a Request');
    request.respond(204);
  });
  const server = createServer(router, { logLevel: 'error' });
  t.after(() => server.close());
  const { port } = await server.listen(0);
  const reply = await rawRequest(port, 'GET /h HTTP/1.1\r\nHost: a/b\r\n\r\n');
  assert.match(reply.text, /^HTTP\/1\.1 204/);
  assert.deepEqual(results, ['undefined']);
});
