// `mummyx-demo --stdio --url URL`, the Claude Desktop entry for a running HTTP demo: MCP over
// stdio relayed to the demo's Streamable HTTP endpoint.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { test, type TestContext } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { EventSource } from 'eventsource';
import { startProgram } from './start-program.js';
import { demoCli, exchangeLines, mcpSession, parseJsonRpcLines, temporaryDir } from './stdio-exchange.js';

async function startDemo(t: TestContext): Promise<string> {
  return startProgram(t, demoCli, {
    args: ['--port', '0', '--threads', '1-2'],
    env: { MUMMYX_DEMO_DATA_DIR: temporaryDir(t, 'mummyx-demo-relay-') },
  });
}

/** A port nothing listens on: bound once, then released. */
async function unusedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

test('relays an SDK client’s calls, progress and the session’s end to the running HTTP demo', async (t) => {
  const url = await startDemo(t);
  const events = new EventSource(`${url}/events`);
  t.after(() => events.close());
  const seen: Array<{ type: string; data: Record<string, unknown> }> = [];
  for (const type of ['session', 'broadcast']) {
    events.addEventListener(type, (event) =>
      seen.push({ type, data: JSON.parse(String(event.data)) as Record<string, unknown> }),
    );
  }
  await new Promise((resolve) => events.addEventListener('hello', resolve));

  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [demoCli, '--stdio', '--url', `${url}/mcp`],
    env: { PATH: '/usr/bin:/bin' },
    stderr: 'pipe',
  });
  (transport.stderr as NodeJS.ReadableStream | null)?.resume();
  const client = new Client({ name: 'mummyx-relay-test', version: '1.0.0' });
  await client.connect(transport);
  t.after(() => client.close());
  // The HTTP demo's tools: hash_upload is only offered where there is an upload endpoint.
  const { tools } = await client.listTools();
  assert.ok(
    tools.some((tool) => tool.name === 'hash_upload'),
    tools.map((tool) => tool.name).join(', '),
  );

  const progress: number[] = [];
  const work = await client.callTool({ name: 'cpu_work', arguments: { rounds: 300_000, chunks: 3 } }, undefined, {
    onprogress: (notification) => progress.push(notification.progress),
  });
  assert.equal(work.isError, undefined, JSON.stringify(work));
  // Progress comes through (the SDK client drops a notification that arrives after the result).
  assert.equal(progress[0], 100_000, `progress notifications came through: ${JSON.stringify(progress)}`);
  assert.deepEqual(
    progress,
    [...progress].sort((a, b) => a - b),
  );
  await client.callTool({ name: 'broadcast', arguments: { message: 'through the relay' } });

  // Closing the client ends the relay's input: the relay ends its HTTP session.
  await client.close();
  const deadline = Date.now() + 10_000;
  const has = (type: string, match: (data: Record<string, unknown>) => boolean): boolean =>
    seen.some((event) => event.type === type && match(event.data));
  while (!has('session', (data) => data['state'] === 'closed') && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.ok(
    has('broadcast', (data) => data['message'] === 'through the relay'),
    JSON.stringify(seen),
  );
  assert.deepEqual(
    seen.filter((event) => event.type === 'session').map((event) => [event.data['transport'], event.data['state']]),
    [
      ['streamable-http', 'open'],
      ['streamable-http', 'closed'],
    ],
  );
});

test('with nothing at --url, every request gets an error saying how to start the demo, and it exits at the end of input', async () => {
  const port = await unusedPort();
  const exchange = await exchangeLines(
    process.execPath,
    [demoCli, '--stdio', '--url', `http://127.0.0.1:${port}/mcp`],
    mcpSession([{ method: 'tools/list' }]),
    { env: { PATH: '/usr/bin:/bin' } },
  );
  assert.equal(exchange.code, 0, exchange.stderr);
  const messages = parseJsonRpcLines(exchange.stdoutLines);
  assert.deepEqual(
    messages.map((message) => message.id),
    [1, 2],
  );
  for (const message of messages) {
    const error = message.error as { code: number; message: string };
    assert.equal(error.code, -32_000);
    assert.ok(error.message.includes(`cannot reach the MummyX demo at http://127.0.0.1:${port}/mcp`), error.message);
    assert.ok(error.message.includes(`Start it with \`node ${demoCli} --port ${port}\``), error.message);
  }
});

test('--stdio --url refuses --conformance and a URL that is not http(s)', async () => {
  for (const [args, pattern] of [
    [['--stdio', '--url', 'http://127.0.0.1:8080/mcp', '--conformance'], /--conformance is the HTTP demo’s to choose/],
    [['--stdio', '--url', 'file:///etc/passwd'], /--url must be an absolute http\(s\) URL/],
  ] as const) {
    const exchange = await exchangeLines(process.execPath, [demoCli, ...args], []);
    assert.equal(exchange.code, 2);
    assert.match(exchange.stderr, pattern);
  }
});
