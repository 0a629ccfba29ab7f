// The SDK's own clients against every transport, inline and threaded.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { WebSocketClientTransport } from '@modelcontextprotocol/sdk/client/websocket.js';
import { WebSocket as WsWebSocket } from 'ws';
import { connectClient, startMcp, textOf, type Mode } from './helpers.js';

// Node 20 has no global WebSocket; the SDK's WebSocket client needs one.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WsWebSocket;

for (const mode of ['inline', 'threaded'] as Mode[]) {
  describe(`SDK clients (${mode})`, () => {
    test('Streamable HTTP: initialize, list and call tools, progress, terminate then 404', async (t) => {
      const { url, server } = await startMcp(t, mode);
      const client = await connectClient(t, url);
      const tools = await client.listTools();
      assert.ok(tools.tools.some((tool) => tool.name === 'echo'));
      assert.equal(textOf(await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } })), '5');
      const progress: number[] = [];
      const counted = await client.callTool({ name: 'count', arguments: { steps: 3, delayMs: 10 } }, undefined, {
        onprogress: (p) => progress.push(p.progress),
      });
      assert.equal(textOf(counted), 'counted to 3');
      assert.deepEqual(progress, [1, 2, 3]);
      const where = JSON.parse(textOf(await client.callTool({ name: 'where' }))) as {
        session: string;
        extraSession: string;
      };
      const transport = client.transport as StreamableHTTPClientTransport;
      assert.equal(where.session, transport.sessionId);
      assert.equal(where.extraSession, transport.sessionId);
      assert.equal(server.stats().sessions, 1);
      await transport.terminateSession();
      const after = await fetch(new URL('/mcp', url), {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json, text/event-stream',
          'Mcp-Session-Id': where.session,
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
      });
      assert.equal(after.status, 404);
      assert.equal(((await after.json()) as { error: { code: number } }).error.code, -32001);
      assert.equal(server.stats().sessions, 0);
    });

    test('Streamable HTTP: a cancelled call aborts extra.signal on the server', async (t) => {
      const { url } = await startMcp(t, mode);
      const client = await connectClient(t, url);
      const controller = new AbortController();
      const call = client.callTool({ name: 'wait_for_abort' }, undefined, { signal: controller.signal });
      await new Promise((resolve) => setTimeout(resolve, 100));
      controller.abort('test cancels');
      await assert.rejects(call);
      // The cancellation notification reaches the session's thread; the same session asks that thread.
      let count = '0';
      for (let i = 0; i < 50 && count === '0'; i++) {
        count = textOf(await client.callTool({ name: 'aborted_count' }));
        if (count === '0') await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(count, '1');
    });

    test('legacy HTTP+SSE: the SDK SSE client initialises and calls tools', async (t) => {
      const { url, server } = await startMcp(t, mode);
      const client = new Client({ name: 'sse-client', version: '1.0.0' });
      await client.connect(new SSEClientTransport(new URL('/sse', url)));
      t.after(() => client.close());
      assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'over sse' } })), 'over sse');
      const progress: number[] = [];
      await client.callTool({ name: 'count', arguments: { steps: 2, delayMs: 5 } }, undefined, {
        onprogress: (p) => progress.push(p.progress),
      });
      assert.deepEqual(progress, [1, 2]);
      const where = JSON.parse(textOf(await client.callTool({ name: 'where' }))) as { transport: string };
      assert.equal(where.transport, 'sse');
      assert.equal(server.stats().sessions, 1);
      await client.close();
      await waitFor(() => server.stats().sessions === 0);
    });

    test('WebSocket: the SDK WebSocket client (subprotocol mcp) initialises and calls tools', async (t) => {
      const { url, server } = await startMcp(t, mode);
      const client = new Client({ name: 'ws-client', version: '1.0.0' });
      await client.connect(new WebSocketClientTransport(new URL('/ws', url.replace('http', 'ws'))));
      t.after(() => client.close());
      assert.equal(textOf(await client.callTool({ name: 'add', arguments: { a: 40, b: 2 } })), '42');
      const progress: number[] = [];
      await client.callTool({ name: 'count', arguments: { steps: 2, delayMs: 5 } }, undefined, {
        onprogress: (p) => progress.push(p.progress),
      });
      assert.deepEqual(progress, [1, 2]);
      const where = JSON.parse(textOf(await client.callTool({ name: 'where' }))) as { transport: string };
      assert.equal(where.transport, 'websocket');
      assert.equal(server.stats().sessions, 1);
      await client.close();
      await waitFor(() => server.stats().sessions === 0);
    });
  });
}

async function waitFor(probe: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
