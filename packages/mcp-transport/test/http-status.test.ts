// Streamable HTTP and legacy SSE status codes, headers and keep-alive, with raw fetch, inline and
// on worker threads.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  bothAccept,
  closeEvents,
  initializeBody,
  postMcp,
  rawInitialize,
  readEvents,
  startMcp,
  streamEnded,
  type Mode,
} from './helpers.js';

interface ErrorBody {
  jsonrpc: string;
  id: number | string | null;
  error: { code: number; message: string };
}

const listTools = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });

for (const mode of ['inline', 'threaded'] as Mode[]) {
  describe(`Streamable HTTP status codes (${mode})`, () => {
    test('POST refusals: 406, 415, 400 bad JSON, 400 not JSON-RPC, 413, 400 without session, 404 unknown session; each echoes the id when the body had one', async (t) => {
      const { url } = await startMcp(t, mode, { maxMessageBytes: 1_000 });
      const cases: Array<[string, Promise<Response>, number, number, number | null]> = [
        ['json-only Accept', postMcp(url, initializeBody, { Accept: 'application/json' }), 406, -32000, 1],
        ['text/plain body', postMcp(url, initializeBody, { 'Content-Type': 'text/plain' }), 415, -32000, null],
        ['bad JSON', postMcp(url, '{"jsonrpc":', {}), 400, -32700, null],
        ['not JSON-RPC', postMcp(url, '{"hello":1}', {}), 400, -32600, null],
        ['over maxMessageBytes', postMcp(url, JSON.stringify({ pad: 'x'.repeat(2_000) }), {}), 413, -32000, null],
        ['no session', postMcp(url, listTools), 400, -32000, 2],
        ['unknown session', postMcp(url, listTools, { 'Mcp-Session-Id': 'no-such-session' }), 404, -32001, 2],
      ];
      for (const [name, pending, status, code, id] of cases) {
        const response = await pending;
        assert.equal(response.status, status, name);
        assert.match(response.headers.get('content-type') ?? '', /application\/json/, name);
        const body = (await response.json()) as ErrorBody;
        assert.equal(body.jsonrpc, '2.0', name);
        assert.equal(body.id, id, name);
        assert.equal(body.error.code, code, name);
      }
    });

    test('initialize answers with a visible-ASCII session id and SSE proxy headers; notifications get 202', async (t) => {
      const { url } = await startMcp(t, mode);
      const response = await postMcp(url, initializeBody);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
      assert.equal(response.headers.get('cache-control'), 'no-cache, no-transform');
      assert.equal(response.headers.get('x-accel-buffering'), 'no');
      const id = response.headers.get('mcp-session-id')!;
      assert.match(id, /^[\x21-\x7e]{16,}$/);
      const events = await readEvents(response, (all) => all.some((e) => e.event === 'message'));
      // 2025-11-25 clients get a priming event (id + retry, empty data) before the answer.
      assert.equal(events[0]!.data, '');
      assert.ok(events[0]!.id !== undefined && events[0]!.retry !== undefined);
      const answer = JSON.parse(events.find((e) => e.event === 'message')!.data) as { id: number; result: unknown };
      assert.equal(answer.id, 1);
      const notified = await postMcp(url, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), {
        'Mcp-Session-Id': id,
      });
      assert.equal(notified.status, 202);
      assert.equal(await notified.text(), '');
    });

    test('MCP-Protocol-Version: unsupported → 400, absent accepted, 2026-07-28 probe → 400 so clients fall back', async (t) => {
      const { url } = await startMcp(t, mode);
      const id = await rawInitialize(url);
      const bad = await postMcp(url, listTools, { 'Mcp-Session-Id': id, 'MCP-Protocol-Version': '1999-01-01' });
      assert.equal(bad.status, 400);
      assert.match(((await bad.json()) as ErrorBody).error.message, /Unsupported protocol version/);
      const absent = await postMcp(url, listTools, { 'Mcp-Session-Id': id });
      assert.equal(absent.status, 200);
      await absent.text();
      const modern = await postMcp(
        url,
        JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'server/discover', params: {} }),
        {
          'MCP-Protocol-Version': '2026-07-28',
        },
      );
      assert.equal(modern.status, 400);
      const body = (await modern.json()) as ErrorBody;
      assert.equal(body.error.code, -32000);
    });

    test('DELETE ends a session (200), then every request for it gets 404; PUT gets 405', async (t) => {
      const { url } = await startMcp(t, mode);
      const id = await rawInitialize(url);
      const deleted = await fetch(new URL('/mcp', url), { method: 'DELETE', headers: { 'Mcp-Session-Id': id } });
      assert.equal(deleted.status, 200);
      await deleted.text();
      assert.equal((await postMcp(url, listTools, { 'Mcp-Session-Id': id })).status, 404);
      const again = await fetch(new URL('/mcp', url), { method: 'DELETE', headers: { 'Mcp-Session-Id': id } });
      assert.equal(again.status, 404);
      const get = await fetch(new URL('/mcp', url), { headers: { Accept: 'text/event-stream', 'Mcp-Session-Id': id } });
      assert.equal(get.status, 404);
      const put = await fetch(new URL('/mcp', url), { method: 'PUT', body: '{}' });
      assert.equal(put.status, 405);
      assert.match(put.headers.get('allow') ?? '', /GET.*POST|POST.*GET/);
    });

    test('GET: 406 without text/event-stream; a second GET replaces the first stream instead of 409', async (t) => {
      const { url } = await startMcp(t, mode);
      const id = await rawInitialize(url);
      const notAcceptable = await fetch(new URL('/mcp', url), {
        headers: { Accept: 'application/json', 'Mcp-Session-Id': id },
      });
      assert.equal(notAcceptable.status, 406);
      const first = await fetch(new URL('/mcp', url), {
        headers: { Accept: 'text/event-stream', 'Mcp-Session-Id': id },
      });
      assert.equal(first.status, 200);
      const second = await fetch(new URL('/mcp', url), {
        headers: { Accept: 'text/event-stream', 'Mcp-Session-Id': id },
      });
      assert.equal(second.status, 200);
      // The first stream ends: reading it to the end finishes.
      await readEvents(first, () => false, 3_000);
      assert.ok(streamEnded(first), 'the replaced stream ended');
      await closeEvents(second);
    });

    test('a message for the GET stream sent before the client opened it waits and arrives on the GET', async (t) => {
      const { url } = await startMcp(t, mode);
      const id = await rawInitialize(url);
      const call = await postMcp(
        url,
        JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'announce', arguments: {} } }),
        { 'Mcp-Session-Id': id },
      );
      await readEvents(call, (events) => events.some((e) => e.event === 'message'));
      const get = await fetch(new URL('/mcp', url), { headers: { Accept: 'text/event-stream', 'Mcp-Session-Id': id } });
      const events = await readEvents(get, (all) => all.some((e) => e.event === 'message'));
      const message = JSON.parse(events.find((e) => e.event === 'message')!.data) as { method: string };
      assert.equal(message.method, 'notifications/tools/list_changed');
      await closeEvents(get);
    });

    test('Host and Origin outside the allow-lists get 403 with a JSON-RPC error (DNS rebinding)', async (t) => {
      const { url } = await startMcp(t, mode);
      const port = new URL(url).port;
      const { request } = await import('node:http');
      const send = (headers: Record<string, string>): Promise<{ status: number; body: string }> =>
        new Promise((resolve, reject) => {
          const req = request(
            {
              host: '127.0.0.1',
              port,
              path: '/mcp',
              method: 'POST',
              headers: { 'Content-Type': 'application/json', Accept: bothAccept, ...headers },
            },
            (res) => {
              let body = '';
              res.setEncoding('utf8');
              res.on('data', (chunk: string) => (body += chunk));
              res.on('end', () => resolve({ status: res.statusCode!, body }));
            },
          );
          req.on('error', reject);
          req.end(initializeBody);
        });
      const evilHost = await send({ Host: 'evil.example.com', Origin: 'http://evil.example.com' });
      assert.equal(evilHost.status, 403);
      assert.equal((JSON.parse(evilHost.body) as ErrorBody).error.code, -32000);
      const evilOrigin = await send({ Host: `127.0.0.1:${port}`, Origin: 'http://evil.example.com' });
      assert.equal(evilOrigin.status, 403);
      const localOrigin = await send({ Host: `localhost:${port}`, Origin: `http://localhost:${port}` });
      assert.equal(localOrigin.status, 200);
    });

    test('every SSE stream gets `: keepalive` comments', async (t) => {
      const { url } = await startMcp(t, mode, {}, { sse: { heartbeatIntervalMs: 100 } });
      const id = await rawInitialize(url);
      const get = await fetch(new URL('/mcp', url), { headers: { Accept: 'text/event-stream', 'Mcp-Session-Id': id } });
      const events = await readEvents(get, (all) => all.some((e) => e.comment === 'keepalive'));
      assert.ok(events.some((e) => e.comment === 'keepalive'));
      await closeEvents(get);
      const sse = await fetch(new URL('/sse', url), { headers: { Accept: 'text/event-stream' } });
      assert.equal(sse.headers.get('x-accel-buffering'), 'no');
      const legacy = await readEvents(
        sse,
        (all) => all.some((e) => e.event === 'endpoint') && all.some((e) => e.comment === 'keepalive'),
      );
      // The first event is the endpoint; a heartbeat comment may come before it while a busy
      // worker makes the session's server (comments are not events to a client).
      const [endpoint] = legacy.filter((e) => e.comment === undefined);
      assert.equal(endpoint?.event, 'endpoint');
      assert.match(endpoint.data, /^\/messages\?sessionId=[\w-]+$/);
      assert.ok(legacy.some((e) => e.comment === 'keepalive'));
      await closeEvents(sse);
    });
  });

  describe(`legacy HTTP+SSE status codes (${mode})`, () => {
    test('POST /messages: 202, 400 without sessionId, 404 unknown, 415, 400 bad JSON; POST /sse gets 405', async (t) => {
      const { url } = await startMcp(t, mode);
      const sse = await fetch(new URL('/sse', url), { headers: { Accept: 'text/event-stream' } });
      const [endpoint] = await readEvents(sse, (all) => all.length > 0);
      const messages = new URL(endpoint!.data, url);
      const send = (target: URL, body: string, type = 'application/json'): Promise<Response> =>
        fetch(target, { method: 'POST', headers: { 'Content-Type': type }, body });
      const accepted = await send(messages, initializeBody);
      assert.equal(accepted.status, 202);
      const answer = await readEvents(sse, (all) => all.some((e) => e.event === 'message'));
      assert.equal((JSON.parse(answer.find((e) => e.event === 'message')!.data) as { id: number }).id, 1);
      assert.equal((await send(new URL('/messages', url), initializeBody)).status, 400);
      assert.equal((await send(new URL('/messages?sessionId=nope', url), initializeBody)).status, 404);
      assert.equal((await send(messages, initializeBody, 'text/plain')).status, 415);
      assert.equal((await send(messages, '{oops')).status, 400);
      const postSse = await send(new URL('/sse', url), initializeBody);
      assert.equal(postSse.status, 405);
      await closeEvents(sse);
    });
  });
}
