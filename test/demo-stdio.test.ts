import assert from 'node:assert/strict';
import { pbkdf2Sync } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { demoCli, exchangeLines, mcpSession, parseJsonRpcLines, temporaryDir } from './stdio-exchange.js';

/** An SDK client connected to `mummyx-demo --stdio` (closed, with its child, when the test ends). */
async function connect(t: TestContext, ...args: string[]): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [demoCli, '--stdio', ...args],
    env: { PATH: process.env['PATH'] ?? '', MUMMYX_DEMO_DATA_DIR: temporaryDir(t, 'mummyx-demo-stdio-') },
    stderr: 'pipe',
  });
  (transport.stderr as NodeJS.ReadableStream | null)?.resume();
  const client = new Client({ name: 'mummyx-test', version: '1.0.0' });
  await client.connect(transport);
  t.after(() => client.close());
  return client;
}

function textOf(result: Awaited<ReturnType<Client['callTool']>>): string {
  const content = (result as CallToolResult).content;
  return content.map((block) => (block.type === 'text' ? block.text : `<${block.type}>`)).join('\n');
}

test('answers initialize and tools/call with nothing but JSON-RPC on stdout, and exits at the end of input', async (t) => {
  const exchange = await exchangeLines(
    process.execPath,
    [demoCli, '--stdio'],
    mcpSession([
      {
        method: 'tools/call',
        params: { name: 'sql_query', arguments: { sql: 'SELECT title FROM books WHERE id = 4' } },
      },
      { method: 'tools/list' },
    ]),
    { env: { ...process.env, MUMMYX_DEMO_DATA_DIR: temporaryDir(t, 'mummyx-demo-stdio-') } },
  );
  assert.equal(exchange.code, 0, exchange.stderr);
  // Answers may come in any order (the SDK runs requests concurrently): sort them by id.
  const messages = parseJsonRpcLines(exchange.stdoutLines).sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
  assert.deepEqual(
    messages.map((message) => message.id),
    [1, 2, 3],
  );
  const initialize = messages[0]?.result as { serverInfo: { name: string }; capabilities: Record<string, unknown> };
  assert.equal(initialize.serverInfo.name, 'mummyx-demo');
  assert.ok('tools' in initialize.capabilities && 'resources' in initialize.capabilities);
  const call = messages[1]?.result as CallToolResult;
  assert.equal(call.isError, undefined);
  assert.deepEqual(call.structuredContent, { columns: ['title'], rows: [['Solaris']], isTruncated: false });
  const tools = (messages[2]?.result as { tools: Array<{ name: string }> }).tools.map((tool) => tool.name);
  assert.deepEqual(tools, ['sql_query', 'order_book', 'cpu_work', 'broadcast']);
  assert.match(exchange.stderr, /MCP over stdio ready/);
});

test('sql_query refuses writes with a clear error, and the data stays as it was', async (t) => {
  const client = await connect(t);
  const refused = await client.callTool({ name: 'sql_query', arguments: { sql: 'DELETE FROM sales' } });
  assert.equal(refused.isError, true);
  assert.match(textOf(refused), /^refused: the sample database is read-only/);
  const twoStatements = await client.callTool({
    name: 'sql_query',
    arguments: { sql: 'SELECT 1; UPDATE books SET price_cents = 1' },
  });
  assert.equal(twoStatements.isError, true);
  assert.match(textOf(twoStatements), /^refused: .*this text holds several/);
  const unknown = await client.callTool({ name: 'sql_query', arguments: { sql: 'SELECT * FROM customers' } });
  assert.equal(unknown.isError, true);
  assert.match(textOf(unknown), /SQLite error: no such table: customers/);
  const count = await client.callTool({ name: 'sql_query', arguments: { sql: 'SELECT count(*) AS n FROM sales' } });
  assert.deepEqual(count.structuredContent, { columns: ['n'], rows: [[32]], isTruncated: false });
});

test('tool arguments are validated against their schemas', async (t) => {
  const client = await connect(t);
  const result = await client.callTool({ name: 'cpu_work', arguments: { rounds: -5 } });
  assert.equal(result.isError, true);
  assert.match(textOf(result), /rounds/);
  const empty = await client.callTool({ name: 'sql_query', arguments: { sql: '' } });
  assert.equal(empty.isError, true);
  assert.match(textOf(empty), /sql/);
});

test('cpu_work sends one progress notification per chunk, then the chained digest', async (t) => {
  // Raw lines rather than the SDK client: the client handles a response at once but a notification
  // a microtask later, so it may drop a progress notification that arrives with the response.
  const exchange = await exchangeLines(
    process.execPath,
    [demoCli, '--stdio'],
    mcpSession([
      {
        method: 'tools/call',
        params: {
          name: 'cpu_work',
          arguments: { rounds: 50_000, chunks: 5, seed: 'abc' },
          _meta: { progressToken: 'work-1' },
        },
      },
    ]),
    { env: { ...process.env, MUMMYX_DEMO_DATA_DIR: temporaryDir(t, 'mummyx-demo-stdio-') } },
  );
  assert.equal(exchange.code, 0, exchange.stderr);
  const messages = parseJsonRpcLines(exchange.stdoutLines);
  const afterInitialize = messages.filter((message) => message.id !== 1);
  assert.deepEqual(
    afterInitialize.map((message) =>
      message.method === 'notifications/progress' ? (message as { params?: unknown }).params : message.id,
    ),
    [
      ...[10_000, 20_000, 30_000, 40_000, 50_000].map((done) => ({
        progressToken: 'work-1',
        progress: done,
        total: 50_000,
        message: `${done} of 50000 rounds`,
      })),
      2,
    ],
  );
  let digest = Buffer.from('abc');
  for (let chunk = 0; chunk < 5; chunk++) digest = pbkdf2Sync(digest, 'mummyx-demo', 10_000, 32, 'sha256');
  const result = afterInitialize.at(-1)?.result as CallToolResult;
  assert.equal((result.structuredContent as { digest: string }).digest, digest.toString('hex'));
  assert.equal((result.structuredContent as { thread: string }).thread, 'main');
});

test('cpu_work stops between chunks when the client cancels it, and the server goes on', async (t) => {
  const client = await connect(t);
  const controller = new AbortController();
  let notifications = 0;
  const call = client.callTool({ name: 'cpu_work', arguments: { rounds: 100_000_000, chunks: 1_000 } }, undefined, {
    signal: controller.signal,
    onprogress: () => {
      notifications += 1;
      if (notifications === 2) controller.abort('enough');
    },
  });
  await assert.rejects(call, /enough|abort/i);
  // The server is not stuck in the remaining 99.8 % of the work: the next call answers.
  const started = performance.now();
  const next = await client.callTool({ name: 'sql_query', arguments: { sql: 'SELECT 1 AS one' } });
  assert.deepEqual(next.structuredContent, { columns: ['one'], rows: [[1]], isTruncated: false });
  t.diagnostic(`answered ${Math.round(performance.now() - started)} ms after the cancellation`);
  assert.ok(performance.now() - started < 10_000);
});

test('offers the schema resource and the explore_data prompt', async (t) => {
  const client = await connect(t);
  const resources = await client.listResources();
  assert.deepEqual(
    resources.resources.map((resource) => resource.uri),
    ['demo://schema', 'demo://broadcasts/latest'],
  );
  const schema = await client.readResource({ uri: 'demo://schema' });
  const text = (schema.contents[0] as { text: string }).text;
  assert.match(text, /CREATE TABLE books/);
  const prompt = await client.getPrompt({ name: 'explore_data', arguments: { question: 'Which book sold best?' } });
  assert.equal(prompt.messages.length, 2);
  assert.equal(prompt.messages[0]?.content.type, 'resource');
  assert.match(JSON.stringify(prompt.messages[1]?.content), /Which book sold best\?/);
});

test('broadcast answers over stdio, where no page listens', async (t) => {
  const client = await connect(t);
  const result = await client.callTool({ name: 'broadcast', arguments: { message: 'hello' } });
  assert.equal(result.isError, undefined);
  assert.match(textOf(result), /^broadcast at .*: hello$/);
});

test('--conformance adds the conformance suite’s fixtures', async (t) => {
  const client = await connect(t, '--conformance');
  const tools = (await client.listTools()).tools.map((tool) => tool.name);
  for (const name of [
    'sql_query',
    'test_simple_text',
    'test_image_content',
    'test_tool_with_progress',
    'test_sampling',
  ]) {
    assert.ok(tools.includes(name), name);
  }
  const image = await client.callTool({ name: 'test_image_content', arguments: {} });
  assert.deepEqual(
    (image as CallToolResult).content.map((block) => block.type),
    ['image'],
  );
  const failing = await client.callTool({ name: 'test_error_handling', arguments: {} });
  assert.equal(failing.isError, true);
  const template = await client.readResource({ uri: 'test://template/42/data' });
  assert.equal((JSON.parse((template.contents[0] as { text: string }).text) as { id: string }).id, '42');
  const prompts = (await client.listPrompts()).prompts.map((prompt) => prompt.name);
  assert.deepEqual(prompts.sort(), [
    'explore_data',
    'test_input_required_result_prompt',
    'test_prompt_with_arguments',
    'test_prompt_with_embedded_resource',
    'test_prompt_with_image',
    'test_simple_prompt',
  ]);
});
