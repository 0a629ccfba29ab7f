// CORS: a page on another origin, in headless Chromium, reaches /mcp in both eras (the 2026 routing
// and Mcp-Param-* headers go through the preflight; the 2025 session id is readable) and the legacy
// /sse + /messages pair. The preflights themselves, with raw fetch.
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { chromium } from 'playwright-core';
import { createServer, Router } from '@mummyx/core';
import type { Mode } from './helpers.js';
import { startMcpV2 } from './helpers-v2.js';

/** A page server on its own port: another origin than the MCP server. */
async function startPageOrigin(t: TestContext): Promise<string> {
  const router = new Router();
  router.get('/', (request) => {
    request.respond(200, { 'Content-Type': 'text/html; charset=utf-8' }, '<!doctype html><title>client</title>');
  });
  router.get('/favicon.ico', (request) => request.respond(204));
  const server = createServer(router, { logLevel: 'error' });
  t.after(() => server.close());
  return (await server.listen(0)).url;
}

/**
 * What the page runs (in the browser, so written as a string): the calls an MCP client makes,
 * with fetch and EventSource, from its own origin. It returns what it could read.
 */
const pageScript = `async (base) => {
  const accept = 'application/json, text/event-stream';
  const json = { 'Content-Type': 'application/json', Accept: accept };
  const envelope = {
    'io.modelcontextprotocol/protocolVersion': '2026-07-28',
    'io.modelcontextprotocol/clientCapabilities': {},
    'io.modelcontextprotocol/clientInfo': { name: 'page', version: '1' },
  };
  const lastMessage = (text) => {
    const data = text.split('\\n').filter((line) => line.startsWith('data:')).map((line) => line.slice(5).trim());
    return JSON.parse(data[data.length - 1]);
  };
  const out = {};
  const modern = await fetch(base + '/mcp', {
    method: 'POST',
    headers: {
      ...json,
      'MCP-Protocol-Version': '2026-07-28',
      'Mcp-Method': 'tools/call',
      'Mcp-Name': 'regional',
      'Mcp-Param-Region': 'eu-west',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call',
      params: { name: 'regional', arguments: { region: 'eu-west' }, _meta: envelope } }),
  });
  out.modern = { status: modern.status, text: (await modern.json()).result.content[0].text };
  const init = await fetch(base + '/mcp', {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'page', version: '1' } } }),
  });
  const session = init.headers.get('Mcp-Session-Id');
  await init.text();
  const sessionHeaders = { ...json, 'Mcp-Session-Id': session, 'MCP-Protocol-Version': '2025-11-25' };
  await fetch(base + '/mcp', { method: 'POST', headers: sessionHeaders,
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
  const call = await fetch(base + '/mcp', { method: 'POST', headers: sessionHeaders,
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { text: 'from the page' } } }) });
  out.legacy = { session, text: lastMessage(await call.text()).result.content[0].text };
  const ended = await fetch(base + '/mcp', { method: 'DELETE', headers: sessionHeaders });
  out.deleted = ended.status;
  const events = new EventSource(base + '/sse');
  const endpoint = await new Promise((resolve, reject) => {
    events.addEventListener('endpoint', (event) => resolve(event.data));
    events.onerror = () => reject(new Error('the SSE stream failed'));
  });
  const answered = new Promise((resolve) => {
    events.addEventListener('message', (event) => {
      const message = JSON.parse(event.data);
      if (message.id === 1) resolve(message);
    });
  });
  const posted = await fetch(new URL(endpoint, base), { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize',
      params: { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'page', version: '1' } } }) });
  out.sse = { posted: posted.status, server: (await answered).result.serverInfo.name };
  events.close();
  return out;
}`;

interface PageResults {
  modern: { status: number; text: string };
  legacy: { session: string | null; text: string };
  deleted: number;
  sse: { posted: number; server: string };
}

for (const mode of ['inline', 'threaded'] as Mode[]) {
  test(`a page on another origin uses /mcp (both eras) and /sse through CORS in Chromium (${mode})`, async (t) => {
    const pageOrigin = await startPageOrigin(t);
    // Threaded, the app module reads its CORS origins from the environment when it loads.
    const { url } = await startMcpV2(
      t,
      mode,
      { cors: { origins: [pageOrigin] } },
      {},
      {
        MCP_TEST_CORS_ORIGINS: pageOrigin,
      },
    );
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    t.after(() => browser.close());
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(`${pageOrigin}/`);
    const out = await page.evaluate<PageResults>(`(${pageScript})(${JSON.stringify(url)})`);
    assert.deepEqual(out.modern, { status: 200, text: 'served for eu-west' });
    assert.match(out.legacy.session ?? '', /^[\x21-\x7e]+$/, 'the page reads Mcp-Session-Id');
    assert.equal(out.legacy.text, 'from the page');
    assert.equal(out.deleted, 200);
    assert.deepEqual(out.sse, { posted: 202, server: 'mcp-transport-test-v2' });
    assert.deepEqual(errors, []);
  });
}

describe('CORS preflights', () => {
  test('OPTIONS on /mcp, /sse and /messages: 204 with the MCP headers (and the Mcp-Param-* asked for); 403 for other origins', async (t) => {
    const page = 'http://app.example';
    const { url } = await startMcpV2(t, 'inline', { cors: { origins: [page] } });
    const preflight = (path: string, origin: string, method: string, headers: string) =>
      fetch(new URL(path, url), {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': method, 'Access-Control-Request-Headers': headers },
      });
    const mcp = await preflight(
      '/mcp',
      page,
      'POST',
      'content-type, mcp-protocol-version, mcp-method, mcp-name, mcp-param-region',
    );
    assert.equal(mcp.status, 204);
    assert.equal(mcp.headers.get('access-control-allow-origin'), page);
    const allowed = (mcp.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/,\s*/);
    for (const name of [
      'content-type',
      'accept',
      'authorization',
      'mcp-protocol-version',
      'mcp-session-id',
      'mcp-method',
      'mcp-name',
      'last-event-id',
      'mcp-param-region',
    ]) {
      assert.ok(allowed.includes(name), `${name} allowed: ${allowed.join(', ')}`);
    }
    assert.match(mcp.headers.get('access-control-allow-methods') ?? '', /DELETE/);
    for (const path of ['/sse', '/messages']) {
      const other = await preflight(path, page, path === '/sse' ? 'GET' : 'POST', 'content-type');
      assert.equal(other.status, 204, path);
      assert.equal(other.headers.get('access-control-allow-origin'), page, path);
    }
    const foreign = await preflight('/mcp', 'http://evil.example', 'POST', 'content-type');
    assert.equal(foreign.status, 403);
    // A request from an origin CORS allows passes the Origin check; its answer exposes the MCP headers.
    const initialize = await fetch(new URL('/mcp', url), {
      method: 'POST',
      headers: { Origin: page, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
      }),
    });
    assert.equal(initialize.status, 200);
    assert.match(initialize.headers.get('access-control-expose-headers') ?? '', /Mcp-Session-Id/);
    await initialize.body?.cancel();
  });
});
