// Stateless mode (`stateless: true`): no sessions, a fresh server per POST, GET and DELETE get
// 405, and in threaded mode POSTs are not pinned to a worker: they spread over all of them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { initializeBody, messagesOf, openBarrier, postMcp, startMcp, textOf, type Mode } from './helpers.js';

interface Answer {
  id: number;
  result?: unknown;
  error?: { code: number };
}

const modern = { 'MCP-Protocol-Version': '2025-11-25' };

function call(id: number, name: string, args: Record<string, unknown> = {}): object {
  return { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } };
}

for (const mode of ['inline', 'threaded'] as Mode[]) {
  describe(`stateless mode (${mode})`, () => {
    test('initialize gets no session id; a tools/call without a session is answered; nothing is kept', async (t) => {
      const { url, server } = await startMcp(t, mode, { stateless: true });
      const initialized = await postMcp(url, initializeBody);
      assert.equal(initialized.status, 200);
      assert.equal(initialized.headers.get('mcp-session-id'), null, 'no Mcp-Session-Id');
      const [init] = (await messagesOf(initialized)) as Answer[];
      assert.equal(init!.id, 1);
      assert.ok(init!.result !== undefined, 'initialize answered');

      // No initialize first and no session header: each POST has a server of its own.
      const answered = await postMcp(url, call(2, 'add', { a: 2, b: 40 }), modern);
      assert.equal(answered.status, 200);
      assert.equal(answered.headers.get('mcp-session-id'), null);
      const [sum] = (await messagesOf(answered)) as Answer[];
      assert.equal(textOf(sum!.result), '42');
      // A session id that was never issued changes nothing: there are no sessions to look up.
      const named = await postMcp(url, call(3, 'echo', { text: 'hi' }), { ...modern, 'Mcp-Session-Id': 'made-up' });
      assert.equal(named.status, 200);
      assert.equal(textOf(((await messagesOf(named)) as Answer[])[0]!.result), 'hi');
      assert.equal(server.stats().sessions, 0, 'no session is kept');
    });

    test('GET and DELETE get 405 with Allow: POST', async (t) => {
      const { url } = await startMcp(t, mode, { stateless: true });
      for (const method of ['GET', 'DELETE']) {
        const response = await fetch(new URL('/mcp', url), {
          method,
          headers: { Accept: 'text/event-stream', 'Mcp-Session-Id': 'x' },
        });
        assert.equal(response.status, 405, method);
        assert.equal(response.headers.get('allow'), 'POST', method);
        await response.arrayBuffer();
      }
    });

    test("the SDK's client works against it", async (t) => {
      const { url } = await startMcp(t, mode, { stateless: true });
      const client = new Client({ name: 'stateless-client', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', url)));
      t.after(() => client.close());
      assert.ok((await client.listTools()).tools.some((tool) => tool.name === 'echo'));
      assert.equal(textOf(await client.callTool({ name: 'add', arguments: { a: 1, b: 2 } })), '3');
    });
  });
}

test('threaded stateless POSTs spread over all workers: four at once run on four workers', async (t) => {
  const arrived = openBarrier();
  const { url } = await startMcp(t, 'threaded', { stateless: true }, { threads: 4 });
  // Each call holds its worker until all four have arrived: only four workers at once can do that.
  const answers = await Promise.all(
    [1, 2, 3, 4].map(async (id) => {
      const [answer] = (await messagesOf(await postMcp(url, call(id, 'gather', { count: 4 }), modern))) as Answer[];
      return JSON.parse(textOf(answer!.result)) as { threadId: number; isGathered: boolean };
    }),
  );
  assert.equal(arrived(), 4);
  for (const answer of answers) assert.equal(answer.isGathered, true, 'the four calls ran at once');
  assert.equal(new Set(answers.map((answer) => answer.threadId)).size, 4, 'on four workers');
});
