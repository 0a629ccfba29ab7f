// Bad input on the 2026-07-28 path, with raw fetch: each gets the right HTTP status and JSON-RPC code
// (echoing the request's id where it has one), and the server goes on serving. Then the answer of an
// endpoint that cannot serve 2026 (SDK 1.x servers, or modern: false): 400 / -32000, so clients fall back.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { connectClient, startMcp, textOf, type Mode } from './helpers.js';
import { answerOf, envelope, modernPost, modernVersion, postMcp, startMcpV2 } from './helpers-v2.js';

interface Reply {
  id?: unknown;
  result?: { content?: Array<{ text: string }> };
  error?: { code: number; message: string; data?: Record<string, unknown> };
}

interface Case {
  name: string;
  send: (url: string) => Promise<Response>;
  status: number;
  /** The JSON-RPC error code, or undefined for none (a result, or no JSON-RPC body). */
  code?: number;
  /** The id the error echoes (null: none could be read). */
  id?: string | number | null;
}

const echoCall = { name: 'echo', arguments: { text: 'x' } };

const cases: Case[] = [
  {
    name: 'no _meta',
    send: (url) => modernPost(url, 'tools/list', {}, { id: 7, meta: null }),
    status: 400,
    code: -32602,
    id: 7,
  },
  {
    name: '_meta without clientCapabilities',
    send: (url) =>
      modernPost(
        url,
        'tools/list',
        {},
        { id: 'm', meta: { 'io.modelcontextprotocol/protocolVersion': modernVersion } },
      ),
    status: 400,
    code: -32602,
    id: 'm',
  },
  {
    name: '_meta that is not an object',
    send: (url) =>
      postMcp(url, JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'tools/list', params: { _meta: 'x' } }), {}),
    status: 400,
    code: -32600,
  },
  {
    name: 'Mcp-Method disagrees with the body',
    send: (url) => modernPost(url, 'tools/list', {}, { id: 9, headers: { 'Mcp-Method': 'prompts/list' } }),
    status: 400,
    code: -32020,
    id: 9,
  },
  {
    name: 'Mcp-Name disagrees with the body',
    send: (url) => modernPost(url, 'tools/call', echoCall, { id: 10, headers: { 'Mcp-Name': 'add' } }),
    status: 400,
    code: -32020,
    id: 10,
  },
  {
    name: 'Mcp-Name missing on tools/call',
    send: (url) =>
      postMcp(
        url,
        JSON.stringify({ jsonrpc: '2.0', id: 11, method: 'tools/call', params: { ...echoCall, _meta: envelope() } }),
        { 'Mcp-Method': 'tools/call' },
      ),
    status: 400,
    code: -32020,
    id: 11,
  },
  {
    name: 'Mcp-Name in base64 (=?base64?…?=) is decoded before comparing',
    send: (url) =>
      modernPost(url, 'tools/call', echoCall, {
        id: 12,
        headers: { 'Mcp-Name': `=?base64?${Buffer.from('echo').toString('base64')}?=` },
      }),
    status: 200,
  },
  {
    name: 'Mcp-Name in malformed base64',
    send: (url) => modernPost(url, 'tools/call', echoCall, { id: 13, headers: { 'Mcp-Name': '=?base64?@@@?=' } }),
    status: 400,
    code: -32020,
    id: 13,
  },
  {
    name: 'MCP-Protocol-Version disagrees with _meta',
    send: (url) => modernPost(url, 'tools/list', {}, { id: 14, headers: { 'MCP-Protocol-Version': '2026-07-29' } }),
    status: 400,
    code: -32020,
    id: 14,
  },
  {
    name: 'a version the server does not serve',
    send: (url) =>
      modernPost(
        url,
        'tools/list',
        {},
        {
          id: 15,
          headers: { 'MCP-Protocol-Version': '2027-01-01' },
          meta: { ...envelope(), 'io.modelcontextprotocol/protocolVersion': '2027-01-01' },
        },
      ),
    status: 400,
    code: -32022,
    id: 15,
  },
  {
    name: 'an unknown method',
    send: (url) => modernPost(url, 'no/such-method', {}, { id: 16 }),
    status: 404,
    code: -32601,
    id: 16,
  },
  {
    name: 'ping, removed in 2026-07-28',
    send: (url) => modernPost(url, 'ping', {}, { id: 17 }),
    status: 404,
    code: -32601,
    id: 17,
  },
  {
    name: 'a batch holding a 2026 request',
    send: (url) =>
      postMcp(
        url,
        JSON.stringify([{ jsonrpc: '2.0', id: 18, method: 'tools/list', params: { _meta: envelope() } }]),
        {},
      ),
    status: 400,
    code: -32600,
    id: null,
  },
  {
    name: 'a notification',
    send: (url) =>
      postMcp(
        url,
        JSON.stringify({
          jsonrpc: '2.0',
          method: 'notifications/cancelled',
          params: { requestId: 1, _meta: envelope() },
        }),
        { 'Mcp-Method': 'notifications/cancelled' },
      ),
    status: 202,
  },
  {
    name: 'a body that is not JSON',
    send: (url) => postMcp(url, '{"jsonrpc":"2.0",', {}),
    status: 400,
    code: -32700,
    id: null,
  },
  {
    name: 'a body that is not application/json',
    send: (url) =>
      postMcp(url, JSON.stringify({ jsonrpc: '2.0', id: 19, method: 'tools/list' }), { 'Content-Type': 'text/plain' }),
    status: 415,
    code: -32000,
    id: null,
  },
  {
    name: 'a foreign Origin',
    send: (url) => modernPost(url, 'tools/list', {}, { id: 20, headers: { Origin: 'https://evil.example' } }),
    status: 403,
    code: -32000,
  },
  {
    name: 'a 10 MB body, over the server’s maxBodyBytes (answered before any handler)',
    send: (url) => modernPost(url, 'tools/call', { name: 'echo', arguments: { text: 'x'.repeat(10 * 1024 * 1024) } }),
    status: 413,
  },
];

async function check(url: string, c: Case): Promise<void> {
  const response = await c.send(url);
  assert.equal(response.status, c.status, `${c.name}: status`);
  if (c.status === 202) {
    assert.equal(await response.text(), '', `${c.name}: no body`);
    return;
  }
  if (c.code === undefined && c.status !== 200) {
    await response.body?.cancel();
    return;
  }
  const reply = (await answerOf(response)) as Reply;
  if (c.status === 200) {
    assert.equal(reply.result?.content?.[0]?.text, 'x', `${c.name}: result`);
    return;
  }
  assert.equal(reply.error?.code, c.code, `${c.name}: code (${reply.error?.message})`);
  if (c.id !== undefined) assert.equal(reply.id, c.id, `${c.name}: id`);
  if (c.code === -32022) assert.deepEqual(reply.error?.data?.['supported'], [modernVersion], `${c.name}: supported`);
}

for (const mode of ['inline', 'threaded'] as Mode[]) {
  describe(`2026-07-28 bad input (${mode})`, () => {
    test('each bad request gets its status and JSON-RPC code, with its id; the server serves on', async (t) => {
      const { url } = await startMcpV2(t, mode);
      for (const c of cases) await check(url, c);
      // Many at once, on every worker: still no crash.
      await Promise.all(cases.map((c) => check(url, c)));
      const after = await modernPost(url, 'tools/call', echoCall, { id: 'after' });
      assert.equal(after.status, 200);
      assert.equal(((await answerOf(after)) as Reply).result?.content?.[0]?.text, 'x');
    });

    test('a 10 MB body under a larger maxBodyBytes reaches the mount: 413 / -32000 (maxMessageBytes, 4 MiB)', async (t) => {
      const { url } = await startMcpV2(t, mode, {}, { maxBodyBytes: 16 * 1024 * 1024 });
      const response = await modernPost(url, 'tools/call', {
        name: 'echo',
        arguments: { text: 'x'.repeat(10 * 1024 * 1024) },
      });
      assert.equal(response.status, 413);
      assert.equal(((await response.json()) as Reply).error?.code, -32000);
    });
  });
}

describe('endpoints that cannot serve 2026-07-28 refuse it with 400 / -32000 so clients fall back', () => {
  for (const mode of ['inline', 'threaded'] as Mode[]) {
    test(`SDK 1.x servers (${mode}): 2026 requests refused with their id; 2025 clients served`, async (t) => {
      const { url } = await startMcp(t, mode);
      for (const [method, params, id] of [
        ['server/discover', {}, 'd1'],
        ['tools/call', echoCall, 2],
        ['no/such-method', {}, 3],
      ] as const) {
        const response = await modernPost(url, method, params, { id });
        assert.equal(response.status, 400, method);
        const reply = (await response.json()) as Reply;
        assert.equal(reply.id, id, method);
        assert.equal(reply.error?.code, -32000, method);
        assert.match(reply.error?.message ?? '', /2025-11-25/);
      }
      // A 2026 claim in _meta alone (no header) is refused too.
      const metaOnly = await fetch(new URL('/mcp', url), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'tools/list', params: { _meta: envelope() } }),
      });
      assert.equal(metaOnly.status, 400);
      assert.deepEqual(((await metaOnly.json()) as Reply).id, 4);
      const client = await connectClient(t, url);
      assert.equal(textOf(await client.callTool({ name: 'add', arguments: { a: 1, b: 2 } })), '3');
    });
  }

  test('an SDK 2.x mount with modern: false: 2026 refused, 2025 served', async (t) => {
    const { url } = await startMcpV2(t, 'inline', { modern: false });
    const response = await modernPost(url, 'server/discover', {}, { id: 5 });
    assert.equal(response.status, 400);
    assert.deepEqual(await response.json(), {
      jsonrpc: '2.0',
      id: 5,
      error: { code: -32000, message: 'Bad Request: this endpoint serves MCP 2025-11-25, 2025-06-18, 2025-03-26 only' },
    });
    const client = new Client({ name: 'v1-client', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', url)));
    t.after(() => client.close());
    assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'legacy' } })), 'legacy');
  });
});
