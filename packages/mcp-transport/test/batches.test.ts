// JSON-RPC batches (2025-03-26 clients) and enableJsonResponse, inline and on worker threads: a
// POST holds one message or a batch of up to 100; answers come as an SSE stream or, with
// enableJsonResponse, as one JSON body (an object for one request, an array for a batch).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { initializeBody, messagesOf, postMcp, rawInitialize, startMcp, textOf, type Mode } from './helpers.js';

interface Answer {
  jsonrpc: string;
  id: number;
  result?: unknown;
  error?: { code: number; message: string };
}

const oldClient = { 'MCP-Protocol-Version': '2025-03-26' };

function echoCall(id: number): object {
  return { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { text: `call ${id}` } } };
}

for (const mode of ['inline', 'threaded'] as Mode[]) {
  for (const enableJsonResponse of [false, true]) {
    const answers = enableJsonResponse ? 'JSON' : 'SSE';
    describe(`batches (${mode}, ${answers} answers)`, () => {
      test('a batch of 100 requests gets 100 answers, one per id', async (t) => {
        const { url } = await startMcp(t, mode, { enableJsonResponse });
        const id = await rawInitialize(url);
        const batch = Array.from({ length: 100 }, (_, i) => echoCall(i + 1));
        const response = await postMcp(url, batch, { 'Mcp-Session-Id': id, ...oldClient });
        assert.equal(response.status, 200);
        const type = response.headers.get('content-type') ?? '';
        assert.match(type, enableJsonResponse ? /^application\/json/ : /^text\/event-stream/);
        const messages = (await messagesOf(response)) as Answer[];
        assert.equal(messages.length, 100);
        const byId = new Map(messages.map((message) => [message.id, message]));
        for (let i = 1; i <= 100; i++) {
          assert.equal(textOf(byId.get(i)?.result), `call ${i}`, `answer to request ${i}`);
        }
      });

      test('a batch of 101 messages, or of none, is refused with 400 and -32600, and nothing runs', async (t) => {
        const { url } = await startMcp(t, mode, { enableJsonResponse });
        const id = await rawInitialize(url);
        const headers = { 'Mcp-Session-Id': id, ...oldClient };
        for (const batch of [Array.from({ length: 101 }, (_, i) => echoCall(i + 1)), []]) {
          const refused = await postMcp(url, batch, headers);
          assert.equal(refused.status, 400, `a batch of ${batch.length}`);
          const body = (await refused.json()) as { id: null; error: { code: number; message: string } };
          assert.equal(body.id, null);
          assert.equal(body.error.code, -32600, `a batch of ${batch.length}: ${body.error.message}`);
        }
        // The session is still there and answers; the refused batches left no request pending.
        const after = (await messagesOf(await postMcp(url, echoCall(1), headers))) as Answer[];
        assert.equal(textOf(after[0]!.result), 'call 1');
      });

      test('a batch of notifications only gets 202; initialize with other messages in a batch gets 400', async (t) => {
        const { url } = await startMcp(t, mode, { enableJsonResponse });
        const id = await rawInitialize(url);
        const notifications = [
          { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 99 } },
          { jsonrpc: '2.0', method: 'notifications/roots/list_changed' },
        ];
        const accepted = await postMcp(url, notifications, { 'Mcp-Session-Id': id, ...oldClient });
        assert.equal(accepted.status, 202);
        assert.equal(await accepted.text(), '');
        const initialized = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' });
        const withInitialize = await postMcp(url, `[${initializeBody},${initialized}]`, oldClient);
        assert.equal(withInitialize.status, 400);
        assert.equal(((await withInitialize.json()) as { error: { code: number } }).error.code, -32600);
      });
    });
  }

  describe(`enableJsonResponse (${mode})`, () => {
    test('initialize and a single request get one JSON object each, with the session id in a header', async (t) => {
      const { url } = await startMcp(t, mode, { enableJsonResponse: true });
      const initialized = await postMcp(url, initializeBody);
      assert.equal(initialized.status, 200);
      assert.match(initialized.headers.get('content-type') ?? '', /^application\/json/);
      const id = initialized.headers.get('mcp-session-id');
      assert.ok(id !== null && id.length >= 16, 'a session id');
      const init = (await initialized.json()) as Answer & { result: { protocolVersion: string } };
      assert.equal(init.jsonrpc, '2.0');
      assert.equal(init.id, 1);
      assert.equal(init.result.protocolVersion, '2025-11-25');

      const call = await postMcp(url, echoCall(7), { 'Mcp-Session-Id': id, 'MCP-Protocol-Version': '2025-11-25' });
      assert.equal(call.status, 200);
      assert.match(call.headers.get('content-type') ?? '', /^application\/json/);
      assert.equal(call.headers.get('mcp-session-id'), id);
      const body = (await call.json()) as Answer;
      assert.ok(!Array.isArray(body), 'one request, one object (not an array)');
      assert.deepEqual(body, { jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text: 'call 7' }] } });

      const unknown = await postMcp(
        url,
        { jsonrpc: '2.0', id: 8, method: 'no/such/method' },
        { 'Mcp-Session-Id': id, 'MCP-Protocol-Version': '2025-11-25' },
      );
      assert.equal(unknown.status, 200, 'a JSON-RPC error is still an answer');
      const error = (await unknown.json()) as Answer;
      assert.equal(error.id, 8);
      assert.equal(error.error?.code, -32601);
    });
  });
}
