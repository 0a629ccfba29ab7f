// The `cors` option, inline and on worker threads: preflights answered on the IO thread, the
// answers a browser needs to read a response (Access-Control-Allow-Origin, the session id exposed),
// and nothing of it when the option is off or the origin is not listed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { initializeBody, messagesOf, postMcp, startMcp, type Mode } from './helpers.js';

function preflight(url: string, origin: string, path = '/mcp'): Promise<Response> {
  return fetch(new URL(path, url), {
    method: 'OPTIONS',
    headers: {
      Origin: origin,
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'content-type, mcp-session-id, mcp-protocol-version',
    },
  });
}

// Loopback origins pass the DNS-rebinding Origin check by default; another origin is also listed
// in allowedOrigins (the last test).
const app = 'http://localhost:5173';

for (const mode of ['inline', 'threaded'] as Mode[]) {
  describe(`cors (${mode})`, () => {
    test('a preflight from a listed origin gets 204 with the methods, headers and max age a browser checks', async (t) => {
      const { url } = await startMcp(t, mode, { cors: { origins: [app], maxAgeSeconds: 120 } });
      for (const path of ['/mcp', '/sse', '/messages']) {
        const response = await preflight(url, app, path);
        assert.equal(response.status, 204, path);
        assert.equal(response.headers.get('access-control-allow-origin'), app, path);
        assert.match(response.headers.get('vary') ?? '', /Origin/, path);
        const methods = (response.headers.get('access-control-allow-methods') ?? '').split(/,\s*/);
        for (const method of ['GET', 'POST', 'DELETE']) assert.ok(methods.includes(method), `${path}: ${method}`);
        const headers = (response.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/,\s*/);
        for (const header of ['content-type', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id']) {
          assert.ok(headers.includes(header), `${path}: ${header} allowed`);
        }
        assert.equal(response.headers.get('access-control-max-age'), '120', path);
      }
    });

    test('a preflight from an origin not listed gets 403 without CORS headers', async (t) => {
      const { url } = await startMcp(t, mode, { cors: { origins: [app] } });
      const response = await preflight(url, 'http://localhost:9999');
      assert.equal(response.status, 403);
      assert.equal(response.headers.get('access-control-allow-origin'), null);
      await response.text();
    });

    test('answers to a listed origin carry Access-Control-Allow-Origin and expose Mcp-Session-Id', async (t) => {
      const { url } = await startMcp(t, mode, { cors: { origins: [app] } });
      const initialized = await postMcp(url, initializeBody, { Origin: app });
      assert.equal(initialized.status, 200);
      assert.equal(initialized.headers.get('access-control-allow-origin'), app);
      const exposed = (initialized.headers.get('access-control-expose-headers') ?? '').toLowerCase().split(/,\s*/);
      assert.ok(exposed.includes('mcp-session-id'), `exposed: ${exposed.join(', ')}`);
      await messagesOf(initialized);
      // A refusal is readable too: the browser's code sees the 404, not an opaque network error.
      const unknown = await postMcp(
        url,
        { jsonrpc: '2.0', id: 2, method: 'tools/list' },
        {
          Origin: app,
          'Mcp-Session-Id': 'no-such-session',
        },
      );
      assert.equal(unknown.status, 404);
      assert.equal(unknown.headers.get('access-control-allow-origin'), app);
      await unknown.text();
    });

    test("origins: '*' answers any origin with *; without the option there is no CORS at all", async (t) => {
      const { url: open } = await startMcp(t, mode, { cors: { origins: '*' }, allowedOrigins: '*' });
      const star = await preflight(open, 'https://anywhere.example');
      assert.equal(star.status, 204);
      assert.equal(star.headers.get('access-control-allow-origin'), '*');
      const answered = await postMcp(open, initializeBody, { Origin: 'https://anywhere.example' });
      assert.equal(answered.headers.get('access-control-allow-origin'), '*');
      await messagesOf(answered);

      const { url: closed } = await startMcp(t, mode);
      const none = await preflight(closed, app);
      assert.notEqual(none.status, 204);
      assert.equal(none.headers.get('access-control-allow-origin'), null);
      await none.text();
      const plain = await postMcp(closed, initializeBody, { Origin: app });
      assert.equal(plain.status, 200, 'a loopback origin is served');
      assert.equal(plain.headers.get('access-control-allow-origin'), null, 'but not given CORS headers');
      await messagesOf(plain);
    });

    test('a non-loopback origin listed in both cors.origins and allowedOrigins is served with CORS headers', async (t) => {
      const site = 'https://app.example.com';
      const { url: both } = await startMcp(t, mode, { cors: { origins: [site] }, allowedOrigins: [site] });
      const served = await postMcp(both, initializeBody, { Origin: site });
      assert.equal(served.status, 200);
      assert.equal(served.headers.get('access-control-allow-origin'), site);
      await messagesOf(served);
    });
  });
}
