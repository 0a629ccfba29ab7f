// Session lifecycle: idle expiry, limits, hooks, authentication, resumption, WebSocket refusals.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { WebSocket as WsWebSocket } from 'ws';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { McpSessionInfo, SessionCloseReason } from '@mummyx/mcp-transport';
import {
  closeEvents,
  initializeBody,
  postMcp,
  rawInitialize,
  readEvents,
  startMcp,
  textOf,
  type Mode,
} from './helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function waitFor(probe: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('sessions', () => {
  test('maxSessions: one more session gets 503 with Retry-After and a JSON-RPC error', async (t) => {
    const { url } = await startMcp(t, 'inline', { maxSessions: 2 });
    await rawInitialize(url);
    await rawInitialize(url);
    const third = await postMcp(url, initializeBody);
    assert.equal(third.status, 503);
    assert.equal(third.headers.get('retry-after'), '5');
    assert.match(((await third.json()) as { error: { message: string } }).error.message, /maximum of 2 sessions/);
    const sse = await fetch(new URL('/sse', url));
    assert.equal(sse.status, 503);
    await sse.text();
  });

  test(
    '10 000 sessions created and expired: all answered, none left, memory back near the start',
    { timeout: 300_000 },
    async (t) => {
      const { url, server } = await startMcp(t, 'inline', { sessionIdleTimeoutMs: 300, enableJsonResponse: true });
      gc();
      const before = process.memoryUsage().heapUsed;
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < 10_000) {
            next++;
            const response = await postMcp(url, initializeBody);
            assert.equal(response.status, 200);
            assert.ok(response.headers.get('mcp-session-id'));
            await response.text();
          }
        }),
      );
      assert.ok(server.stats().sessions > 0);
      await waitFor(() => server.stats().sessions === 0, 10_000);
      await new Promise((resolve) => setTimeout(resolve, 100));
      gc();
      gc();
      const grown = (process.memoryUsage().heapUsed - before) / 1024 / 1024;
      t.diagnostic(`heap growth after 10 000 sessions expired: ${grown.toFixed(1)} MiB`);
      // 3.4-3.7 MiB measured (about 370 bytes a session, the runtime's own caches warming up). 12 MiB
      // is 1.2 KB a session: a session's server and transport left behind would be far more.
      assert.ok(
        grown < 12,
        `heap grew ${grown.toFixed(1)} MiB: ${((grown * 1024 * 1024) / 10_000).toFixed(0)} bytes a session`,
      );
    },
  );

  test('authenticate: 401 with WWW-Authenticate without a token; tools see extra.authInfo with one', async (t) => {
    const { url } = await startMcp(t, 'inline', {
      authenticate: (request) =>
        request.headers.get('authorization') === 'Bearer good-token'
          ? { token: 'good-token', clientId: 'client-42', scopes: ['tools'] }
          : undefined,
      resourceMetadataUrl: 'http://127.0.0.1/.well-known/oauth-protected-resource/mcp',
    });
    const refused = await postMcp(url, initializeBody);
    assert.equal(refused.status, 401);
    assert.equal(
      refused.headers.get('www-authenticate'),
      'Bearer resource_metadata="http://127.0.0.1/.well-known/oauth-protected-resource/mcp"',
    );
    await refused.text();
    const client = new Client({ name: 'authed', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL('/mcp', url), {
        requestInit: { headers: { Authorization: 'Bearer good-token' } },
      }),
    );
    t.after(() => client.close());
    const where = JSON.parse(textOf(await client.callTool({ name: 'where' }))) as { auth: string };
    assert.equal(where.auth, 'client-42');
  });

  for (const mode of ['inline', 'threaded'] as Mode[]) {
    test(`${mode}: an idle session expires (404 afterwards) and the hooks see it come and go`, async (t) => {
      const created: McpSessionInfo[] = [];
      const closed: Array<[string, SessionCloseReason]> = [];
      const { url, server } = await startMcp(t, mode, {
        sessionIdleTimeoutMs: 200,
        onSessionCreated: (session) => created.push(session),
        onSessionClosed: (session, reason) => closed.push([session.id, reason]),
      });
      const id = await rawInitialize(url);
      // Threaded, the hooks run on the session's worker and their reports arrive a moment later.
      await waitFor(() => created.length === 1);
      assert.equal(created[0]!.id, id);
      assert.equal(created[0]!.transport, 'streamable-http');
      assert.equal(created[0]!.protocolVersion, '2025-11-25');
      await waitFor(() => closed.length === 1);
      assert.deepEqual(closed[0], [id, 'idle']);
      await waitFor(() => server.stats().sessions === 0);
      assert.equal(created.length, 1);
      const after = await postMcp(url, JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }), {
        'Mcp-Session-Id': id,
      });
      assert.equal(after.status, 404);
    });

    test(`${mode}: resumption: a dropped POST stream is resumed with GET + Last-Event-ID and delivers the rest`, async (t) => {
      const { url } = await startMcp(t, mode);
      const id = await rawInitialize(url);
      const call = await postMcp(
        url,
        JSON.stringify({
          jsonrpc: '2.0',
          id: 5,
          method: 'tools/call',
          params: { name: 'count', arguments: { steps: 6, delayMs: 60 }, _meta: { progressToken: 'p' } },
        }),
        { 'Mcp-Session-Id': id, 'MCP-Protocol-Version': '2025-11-25' },
      );
      const first = await readEvents(call, (events) => events.filter((e) => e.event === 'message').length >= 2);
      const lastId = first.filter((e) => e.id !== undefined).at(-1)!.id!;
      await closeEvents(call);
      const resumed = await fetch(new URL('/mcp', url), {
        headers: {
          Accept: 'text/event-stream',
          'Mcp-Session-Id': id,
          'Last-Event-ID': lastId,
          'MCP-Protocol-Version': '2025-11-25',
        },
      });
      assert.equal(resumed.status, 200);
      const rest = await readEvents(resumed, (events) => events.some((e) => e.data.includes('"id":5')));
      const messages = [...first, ...rest]
        .filter((e) => e.event === 'message')
        .map((e) => JSON.parse(e.data) as { id?: number; params?: { progress: number } });
      const progress = messages.filter((m) => m.params !== undefined).map((m) => m.params!.progress);
      assert.deepEqual(progress, [1, 2, 3, 4, 5, 6], 'every progress notification exactly once');
      assert.equal(messages.at(-1)!.id, 5, 'the answer arrives on the resumed stream');
      await closeEvents(resumed);
    });

    for (const eventStore of [undefined, false] as const) {
      test(`${mode}: a client that drops a POST stream and does not resume gets its tool aborted (event store ${eventStore === false ? 'off' : 'on'})`, async (t) => {
        const { url } = await startMcp(t, mode, {
          resumeGraceMs: 200,
          ...(eventStore === false ? { eventStore } : {}),
        });
        const id = await rawInitialize(url);
        const headers = { 'Mcp-Session-Id': id, 'MCP-Protocol-Version': '2025-11-25' };
        let nextId = 100;
        const count = async (): Promise<number> => {
          const reply = await postMcp(
            url,
            JSON.stringify({
              jsonrpc: '2.0',
              id: nextId++,
              method: 'tools/call',
              params: { name: 'aborted_count', arguments: {} },
            }),
            headers,
          );
          const events = await readEvents(reply, (all) => all.some((e) => e.event === 'message'));
          const message = JSON.parse(events.find((e) => e.event === 'message')!.data) as { result: unknown };
          return Number(textOf(message.result));
        };
        // The counter is per thread and this file's tests share it: compare with what it was.
        const before = await count();
        const call = await postMcp(
          url,
          JSON.stringify({
            jsonrpc: '2.0',
            id: 7,
            method: 'tools/call',
            params: { name: 'wait_for_abort', arguments: {} },
          }),
          headers,
        );
        assert.equal(call.status, 200);
        await closeEvents(call);
        const deadline = Date.now() + 3_000;
        let seen = await count();
        while (seen === before && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          seen = await count();
        }
        assert.equal(seen, before + 1);
      });
    }

    test(`${mode}: a Last-Event-ID of another session is refused`, async (t) => {
      const { url } = await startMcp(t, mode);
      const a = await rawInitialize(url);
      const b = await rawInitialize(url);
      const resumed = await fetch(new URL('/mcp', url), {
        headers: { Accept: 'text/event-stream', 'Mcp-Session-Id': b, 'Last-Event-ID': `${a}.get#0` },
      });
      assert.equal(resumed.status, 404);
      await resumed.text();
    });
  }
});

describe('WebSocket refusals', () => {
  function open(
    url: string,
    protocols: string[],
  ): Promise<{ socket: WsWebSocket; protocol: string } | { status: number }> {
    return new Promise((resolve) => {
      const socket = new WsWebSocket(new URL('/ws', url.replace('http', 'ws')), protocols);
      socket.on('open', () => resolve({ socket, protocol: socket.protocol }));
      socket.on('unexpected-response', (_req, res) => {
        resolve({ status: res.statusCode ?? 0 });
        res.resume();
      });
      socket.on('error', () => {});
    });
  }

  test('a handshake without the mcp subprotocol is refused with 400; with it, mcp is echoed', async (t) => {
    const { url } = await startMcp(t, 'threaded');
    const refused = await open(url, []);
    assert.deepEqual(refused, { status: 400 });
    const other = await open(url, ['graphql-ws']);
    assert.deepEqual(other, { status: 400 });
    const accepted = await open(url, ['other', 'mcp']);
    assert.ok('socket' in accepted);
    assert.equal(accepted.protocol, 'mcp');
    accepted.socket.close();
  });

  test('invalid JSON gets a -32700 error, a non-JSON-RPC frame -32600, a binary frame closes with 1003', async (t) => {
    const { url } = await startMcp(t, 'inline');
    const opened = await open(url, ['mcp']);
    assert.ok('socket' in opened);
    const socket = opened.socket;
    const replies: string[] = [];
    socket.on('message', (data: Buffer) => replies.push(data.toString()));
    const closed = new Promise<number>((resolve) => socket.on('close', (code: number) => resolve(code)));
    socket.send('{not json');
    socket.send('{"hello":"world"}');
    await waitFor(() => replies.length === 2);
    assert.equal((JSON.parse(replies[0]!) as { error: { code: number } }).error.code, -32700);
    assert.equal((JSON.parse(replies[1]!) as { error: { code: number } }).error.code, -32600);
    socket.send(Buffer.from([1, 2, 3]));
    assert.equal(await closed, 1003);
  });
});
