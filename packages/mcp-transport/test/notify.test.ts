// mount.notify with SDK 1.x servers: every 2025-era session of the mount — Streamable HTTP, legacy
// SSE and WebSocket — gets notifications/tools/list_changed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WebSocket as WsWebSocket } from 'ws';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { WebSocketClientTransport } from '@modelcontextprotocol/sdk/client/websocket.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { startMcp } from './helpers.js';

// Node 20 has no global WebSocket; the SDK's WebSocket client needs one.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WsWebSocket;

test('SDK 1.x sessions of every transport hear mount.notify.toolsChanged()', async (t) => {
  const { url, mount } = await startMcp(t, 'inline');
  const heard: string[] = [];
  const transports = {
    'streamable-http': new StreamableHTTPClientTransport(new URL('/mcp', url)),
    sse: new SSEClientTransport(new URL('/sse', url)),
    websocket: new WebSocketClientTransport(new URL(`${url.replace('http', 'ws')}/ws`)),
  };
  for (const [name, transport] of Object.entries(transports)) {
    const client = new Client({ name, version: '1.0.0' });
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      heard.push(name);
    });
    await client.connect(transport);
    t.after(() => client.close());
  }
  mount!.notify.toolsChanged();
  // Resource updates go only to sessions that subscribed (none here; these servers have no resources).
  mount!.notify.resourceUpdated('test://nothing');
  const deadline = Date.now() + 5_000;
  while (heard.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(heard.sort(), ['sse', 'streamable-http', 'websocket']);
});
