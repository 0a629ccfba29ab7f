// Clients that negotiate the protocol era (they probe with a 2026-07-28 server/discover first),
// against a threaded mount of SDK 1.x servers, which refuses 2026 with 400 / -32000: every one falls
// back to initialize and works. Against a mount of SDK 2.x servers the same clients speak 2026.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline';
import { before, describe, test, type TestContext } from 'node:test';
import { startMcp, textOf } from './helpers.js';
import { connectV2Client, startMcpV2 } from './helpers-v2.js';
import { toolBin, toolPackage } from './tools-install.js';

/** The part of @ai-sdk/mcp's client these tests use. */
interface AiSdkClient {
  tools(): Promise<
    Record<string, { execute(args: unknown, options: { toolCallId: string; messages: []; context: object }): unknown }>
  >;
  close(): Promise<void>;
}

let inspector = '';
let mcpRemote = '';
let createMCPClient: (options: { transport: { type: 'http'; url: string } }) => Promise<AiSdkClient>;

before(async () => {
  inspector = toolBin('inspector', '@modelcontextprotocol/inspector@2.12.0', 'mcp-inspector');
  mcpRemote = toolBin('mcp-remote', 'mcp-remote@0.15.1', 'mcp-remote');
  // Installed beside the tools, not as a devDependency: its packages declare Node >= 22, which
  // would warn on every Node 20 install of the workspace; the client itself runs on Node 20.
  const aiSdk = toolPackage('ai-sdk-mcp', '@ai-sdk/mcp@2.0.99', '@ai-sdk/mcp');
  ({ createMCPClient } = (await import(pathToFileURL(join(aiSdk, 'dist', 'index.js')).href)) as {
    createMCPClient: typeof createMCPClient;
  });
});

function run(bin: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

interface RpcAnswer {
  id?: number;
  result?: { content?: Array<{ text: string }>; serverInfo?: { name: string } };
  error?: { code: number; message: string };
}

/** mcp-remote as Claude Desktop runs it (a stdio process), with `--protocol auto`; returns a request function. */
function startMcpRemote(t: TestContext, target: string): (method: string, params?: unknown) => Promise<RpcAnswer> {
  const home = mkdtempSync(join(tmpdir(), 'mcp-remote-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const child = spawn(mcpRemote, [target, '--protocol', 'auto'], {
    env: { ...process.env, HOME: home, MCP_REMOTE_CONFIG_DIR: home },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stderr.resume();
  child.on('error', () => {});
  t.after(() => child.kill());
  const received: RpcAnswer[] = [];
  const waiters: Array<() => void> = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    received.push(JSON.parse(line) as RpcAnswer);
    for (const wake of waiters.splice(0)) wake();
  });
  let nextId = 1;
  return async (method, params) => {
    const id = nextId++;
    child.stdin.write(
      `${JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) })}\n`,
    );
    if (method === 'initialize')
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const found = received.find((message) => message.id === id);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`mcp-remote gave no answer to ${method}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  };
}

const initializeParams = {
  protocolVersion: '2025-06-18',
  capabilities: {},
  clientInfo: { name: 'desktop-like', version: '1' },
};

describe('auto-negotiating clients against SDK 1.x servers fall back to 2025', () => {
  test('SDK 2.x client: auto falls back to a 2025 session; pinned 2026 fails loudly', async (t) => {
    const { url } = await startMcp(t, 'threaded', {}, { threads: 2 });
    const auto = await connectV2Client(t, url, 'auto');
    assert.equal(auto.getProtocolEra(), 'legacy');
    assert.equal(textOf(await auto.callTool({ name: 'add', arguments: { a: 2, b: 3 } })), '5');
    await assert.rejects(connectV2Client(t, url, 'pin'));
  });

  test('@ai-sdk/mcp: its server/discover probe falls back to initialize', async (t) => {
    const { url } = await startMcp(t, 'threaded', {}, { threads: 2 });
    const client = await createMCPClient({ transport: { type: 'http', url: `${url}/mcp` } });
    t.after(() => client.close());
    const tools = await client.tools();
    const result = (await tools['add']!.execute({ a: 20, b: 22 }, { toolCallId: '1', messages: [], context: {} })) as {
      content: Array<{ text: string }>;
    };
    assert.equal(result.content[0]!.text, '42');
  });

  test('mcp-remote 0.15.1 --protocol auto: initialize, tools/call', async (t) => {
    const { url } = await startMcp(t, 'threaded', {}, { threads: 2 });
    const request = startMcpRemote(t, `${url.replace('127.0.0.1', 'localhost')}/mcp`);
    const init = await request('initialize', initializeParams);
    assert.equal(init.result?.serverInfo?.name, 'mcp-transport-test');
    const call = await request('tools/call', { name: 'add', arguments: { a: 40, b: 2 } });
    assert.equal(call.result?.content?.[0]?.text, '42');
  });

  test('Inspector CLI 2.12.0 --protocol-era auto: tools/call', async (t) => {
    const { url } = await startMcp(t, 'threaded', {}, { threads: 2 });
    const args = ['--cli', `${url}/mcp`, '--protocol-era', 'auto', '--method', 'tools/call', '--tool-name', 'add'];
    const call = await run(inspector, [...args, '--tool-arg', 'a=2', 'b=3', '--format', 'json', '-q']);
    assert.equal(call.code, 0, call.stderr);
    assert.equal(
      (JSON.parse(call.stdout) as { result: { content: Array<{ text: string }> } }).result.content[0]!.text,
      '5',
    );
  });
});

describe('the same clients against SDK 2.x servers speak 2026-07-28', () => {
  test('@ai-sdk/mcp goes modern', async (t) => {
    const { url } = await startMcpV2(t, 'threaded');
    const client = await createMCPClient({ transport: { type: 'http', url: `${url}/mcp` } });
    t.after(() => client.close());
    const tools = await client.tools();
    const result = (await tools['where']!.execute({}, { toolCallId: '1', messages: [], context: {} })) as {
      content: Array<{ text: string }>;
    };
    assert.equal((JSON.parse(result.content[0]!.text) as { era: string }).era, 'modern');
  });

  test('mcp-remote --protocol auto goes modern (and still answers its stdio client in 2025)', async (t) => {
    const { url } = await startMcpV2(t, 'threaded');
    const request = startMcpRemote(t, `${url.replace('127.0.0.1', 'localhost')}/mcp`);
    await request('initialize', initializeParams);
    const call = await request('tools/call', { name: 'where', arguments: {} });
    assert.equal((JSON.parse(call.result?.content?.[0]?.text ?? '{}') as { era: string }).era, 'modern');
  });

  test('Inspector CLI --protocol-era auto goes modern', async (t) => {
    const { url } = await startMcpV2(t, 'threaded');
    const call = await run(inspector, [
      '--cli',
      `${url}/mcp`,
      '--protocol-era',
      'auto',
      '--method',
      'tools/call',
      '--tool-name',
      'where',
      '--format',
      'json',
      '-q',
    ]);
    assert.equal(call.code, 0, call.stderr);
    const text = (JSON.parse(call.stdout) as { result: { content: Array<{ text: string }> } }).result.content[0]!.text;
    assert.equal((JSON.parse(text) as { era: string }).era, 'modern');
  });
});
