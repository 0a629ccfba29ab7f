// MCP over WebSocket (subprotocol mcp) with SDK 2.x servers: the first message picks the era. A 2025
// client initializes a session; a 2026-07-28 client opens with server/discover, listens, and hears
// changes raised by tools on any worker.
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { WebSocket } from 'ws';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { WebSocketClientTransport } from '@modelcontextprotocol/sdk/client/websocket.js';
import { textOf, type Mode } from './helpers.js';
import { answerOf, envelope, modernPost, startMcpV2 } from './helpers-v2.js';

// Node 20 has no global WebSocket; the SDK's WebSocket client needs one.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

interface Message {
  id?: number;
  method?: string;
  params?: Record<string, unknown> & { _meta?: Record<string, unknown> };
  result?: Record<string, unknown> & { content?: Array<{ text: string }> };
  error?: { code: number; message: string };
}

/** A raw WebSocket MCP connection: send a message, wait for the first one received that matches. */
async function openSocket(t: TestContext, url: string) {
  const socket = new WebSocket(`${url.replace('http', 'ws')}/ws`, 'mcp');
  const received: Message[] = [];
  socket.on('message', (data: Buffer) => received.push(JSON.parse(data.toString()) as Message));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  t.after(() => socket.close());
  return {
    send: (message: Record<string, unknown>) => socket.send(JSON.stringify({ jsonrpc: '2.0', ...message })),
    next: async (match: (message: Message) => boolean, what: string): Promise<Message> => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const index = received.findIndex(match);
        if (index >= 0) return received.splice(index, 1)[0]!;
        if (Date.now() > deadline) throw new Error(`no ${what} on the WebSocket: ${JSON.stringify(received)}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
  };
}

for (const mode of ['inline', 'threaded'] as Mode[]) {
  describe(`WebSocket with SDK 2.x servers (${mode})`, () => {
    test('a 2025 client (initialize) gets a session in the 2025 era', async (t) => {
      const { url, server } = await startMcpV2(t, mode);
      const client = new Client({ name: 'ws-2025', version: '1.0.0' });
      await client.connect(new WebSocketClientTransport(new URL(`${url.replace('http', 'ws')}/ws`)));
      t.after(() => client.close());
      const where = JSON.parse(textOf(await client.callTool({ name: 'where', arguments: {} }))) as {
        era: string;
        transport: string;
      };
      assert.deepEqual([where.era, where.transport], ['legacy', 'websocket']);
      const progress: number[] = [];
      await client.callTool({ name: 'count', arguments: { steps: 2, delayMs: 5 } }, undefined, {
        onprogress: (p) => progress.push(p.progress),
      });
      assert.deepEqual(progress, [1, 2]);
      assert.equal(server.stats().sessions, 1);
    });

    test('a 2026 client (server/discover first) is served 2026-07-28; its listen stream hears changes from any worker', async (t) => {
      const { url } = await startMcpV2(t, mode);
      const ws = await openSocket(t, url);
      ws.send({ id: 1, method: 'server/discover', params: { _meta: envelope() } });
      const discovered = await ws.next((m) => m.id === 1, 'server/discover answer');
      assert.deepEqual(discovered.result?.['supportedVersions'], ['2026-07-28']);
      ws.send({
        id: 2,
        method: 'subscriptions/listen',
        params: { _meta: envelope(), notifications: { toolsListChanged: true } },
      });
      const ack = await ws.next((m) => m.method === 'notifications/subscriptions/acknowledged', 'listen ack');
      assert.equal(ack.params?._meta?.['io.modelcontextprotocol/subscriptionId'], 2);
      ws.send({ id: 3, method: 'tools/call', params: { _meta: envelope(), name: 'where', arguments: {} } });
      const where = await ws.next((m) => m.id === 3, 'tools/call answer');
      const info = JSON.parse(where.result?.content?.[0]?.text ?? '{}') as {
        era: string;
        transport: string;
        threadId: number;
      };
      assert.deepEqual([info.era, info.transport], ['modern', 'websocket']);
      // Tools run by HTTP requests (four at once, each holding its worker a while, so on several workers)
      // raise the change; the socket's listen stream hears every one.
      const raisedOn = await Promise.all(
        [0, 1, 2, 3].map(async () => {
          const touched = await modernPost(url, 'tools/call', {
            name: 'touch',
            arguments: { holdMs: mode === 'threaded' ? 200 : 0 },
          });
          assert.equal(touched.status, 200);
          const answer = (await answerOf(touched)) as { result: { content: Array<{ text: string }> } };
          return (JSON.parse(answer.result.content[0]!.text) as { threadId: number }).threadId;
        }),
      );
      for (let i = 0; i < 4; i++) {
        const changed = await ws.next((m) => m.method === 'notifications/tools/list_changed', 'tools/list_changed');
        assert.equal(changed.params?._meta?.['io.modelcontextprotocol/subscriptionId'], 2);
      }
      t.diagnostic(`socket served on thread ${info.threadId}; changes raised on ${raisedOn.join(', ')}`);
      if (mode === 'threaded') assert.ok(raisedOn.some((thread) => thread !== info.threadId));
    });
  });
}
