// `reuseServers`: 2026-07-28 requests served by servers kept from earlier ones, one request at a
// time, inline and on four workers. The `where` tool names the factory call that made its server
// (`ctx.id`), so each answer shows whether a kept server served it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { answerOf, envelope, modernPost, modernVersion, startMcpV2 } from './helpers-v2.js';

interface Where {
  threadId: number;
  era: string;
  id: string;
}

/** Calls `where` over 2026-07-28 and returns what it says (its server's factory call id). */
async function where(url: string, id: number, meta?: Record<string, unknown>): Promise<Where> {
  const response = await modernPost(url, 'tools/call', { name: 'where', arguments: {} }, { id, meta });
  assert.equal(response.status, 200);
  const answer = (await answerOf(response)) as { id: unknown; result: { content: Array<{ text: string }> } };
  assert.equal(answer.id, id);
  return JSON.parse(answer.result.content[0]!.text) as Where;
}

/** A `count` call with a progress token: the SDK answers it with an SSE stream. */
async function countStreamed(url: string, id: number): Promise<void> {
  const response = await modernPost(
    url,
    'tools/call',
    { name: 'count', arguments: { steps: 2, delayMs: 1 } },
    { id, meta: { ...envelope(), progressToken: `p${id}` } },
  );
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
  const answer = (await answerOf(response)) as { result: { content: Array<{ text: string }> } };
  assert.match(answer.result.content[0]!.text, /^counted to 2/);
}

describe('reuseServers (inline)', () => {
  test('sequential requests are served by one kept server', async (t) => {
    const { url } = await startMcpV2(t, 'inline', { reuseServers: true });
    const ids = new Set<string>();
    for (let i = 1; i <= 6; i++) {
      const answer = await where(url, i);
      assert.equal(answer.era, 'modern');
      ids.add(answer.id);
    }
    assert.equal(ids.size, 1, `one server for six requests, got ${ids.size}`);
  });

  test('without the option, every request gets a fresh server', async (t) => {
    const { url } = await startMcpV2(t, 'inline');
    const first = await where(url, 1);
    const second = await where(url, 2);
    assert.notEqual(first.id, second.id);
  });

  test('a request that does not name its client gets a fresh server', async (t) => {
    const { url } = await startMcpV2(t, 'inline', { reuseServers: true });
    const first = await where(url, 1);
    const anonymous = await where(url, 2, {
      'io.modelcontextprotocol/protocolVersion': modernVersion,
      'io.modelcontextprotocol/clientCapabilities': {},
    });
    assert.notEqual(anonymous.id, first.id);
    // The kept server is still there for the next request that names its client.
    assert.equal((await where(url, 3)).id, first.id);
  });

  test('a server whose answer was a stream is not kept', async (t) => {
    const { url } = await startMcpV2(t, 'inline', { reuseServers: true });
    const first = await where(url, 1);
    // The kept server serves the streamed call, and is dropped after it.
    await countStreamed(url, 2);
    const next = await where(url, 3);
    assert.notEqual(next.id, first.id);
    assert.equal((await where(url, 4)).id, next.id);
  });

  test('concurrent requests each get a server of their own', async (t) => {
    const { url } = await startMcpV2(t, 'inline', { reuseServers: true });
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => where(url, i + 1)));
    assert.equal(answers.length, 12);
    // Every server made for the burst is kept: a second burst makes none.
    const made = new Set(answers.map((answer) => answer.id));
    const again = await Promise.all(Array.from({ length: 12 }, (_, i) => where(url, i + 100)));
    for (const answer of again) assert.ok(made.has(answer.id), `${answer.id} was made for the second burst`);
  });

  test('a cancelled exchange does not leave its server to the next request', async (t) => {
    const { url } = await startMcpV2(t, 'inline', { reuseServers: true });
    const first = await where(url, 1);
    const controller = new AbortController();
    const pending = modernPost(
      url,
      'tools/call',
      { name: 'wait_for_abort', arguments: {} },
      { id: 2, meta: { ...envelope(), progressToken: 'w' }, signal: controller.signal },
    );
    const response = await pending;
    // The first event (progress) has come: the call runs on the kept server. Then the client leaves.
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    await reader.cancel().catch(() => {});
    // A request now must not get the server of the cancelled call (its tool may still run).
    const answers = await Promise.all([where(url, 3), where(url, 4)]);
    for (const answer of answers) assert.notEqual(answer.id, first.id);
  });
});

describe('reuseServers (threaded)', () => {
  test('each worker keeps its servers: twelve requests make at most one per worker', async (t) => {
    const { url } = await startMcpV2(t, 'threaded', {}, {}, { MCP_TEST_REUSE_SERVERS: '1' });
    const answers: Where[] = [];
    for (let i = 1; i <= 12; i++) answers.push(await where(url, i));
    for (const answer of answers) assert.notEqual(answer.threadId, 0, 'served on a worker');
    const ids = new Set(answers.map((answer) => answer.id));
    const threads = new Set(answers.map((answer) => answer.threadId));
    assert.ok(ids.size <= threads.size, `${ids.size} servers on ${threads.size} workers`);
  });
});
