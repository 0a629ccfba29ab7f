// Programs users connect with: the MCP Inspector CLI and mcp-remote (how Claude Desktop reaches
// HTTP servers), against a threaded server.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, test } from 'node:test';
import { startMcp } from './helpers.js';
import { toolOrSkip } from './tools-install.js';

function run(bin: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('MCP Inspector CLI 2.12.0', () => {
  test('tools/call over Streamable HTTP, tools/list with --protocol-era auto, tools/call over legacy SSE', async (t) => {
    const inspector = toolOrSkip(t, 'inspector', '@modelcontextprotocol/inspector@2.12.0', 'mcp-inspector');
    if (inspector === undefined) return;
    const { url } = await startMcp(t, 'threaded', {}, { threads: 2 });
    const call = await run(inspector, [
      '--cli',
      `${url}/mcp`,
      '--method',
      'tools/call',
      '--tool-name',
      'add',
      '--tool-arg',
      'a=2',
      'b=3',
      '--format',
      'json',
      '-q',
    ]);
    assert.equal(call.code, 0, call.stderr);
    assert.deepEqual(JSON.parse(call.stdout), { result: { content: [{ type: 'text', text: '5' }] } });
    const auto = await run(inspector, [
      '--cli',
      `${url}/mcp`,
      '--method',
      'tools/list',
      '--protocol-era',
      'auto',
      '-q',
    ]);
    assert.equal(auto.code, 0, auto.stderr);
    assert.ok(
      (JSON.parse(auto.stdout) as { tools: Array<{ name: string }> }).tools.some((tool) => tool.name === 'spin'),
    );
    const sse = await run(inspector, [
      '--cli',
      `${url}/sse`,
      '--transport',
      'sse',
      '--method',
      'tools/call',
      '--tool-name',
      'echo',
      '--tool-arg',
      'text=hi',
      '-q',
    ]);
    assert.equal(sse.code, 0, sse.stderr);
    assert.equal((JSON.parse(sse.stdout) as { content: Array<{ text: string }> }).content[0]!.text, 'hi');
  });
});

describe('mcp-remote 0.15.1 over stdio, as Claude Desktop runs it', () => {
  for (const transport of ['http-only', 'sse-only']) {
    test(`initialize, tools/list and tools/call (${transport})`, async (t) => {
      const mcpRemote = toolOrSkip(t, 'mcp-remote', 'mcp-remote@0.15.1', 'mcp-remote');
      if (mcpRemote === undefined) return;
      const { url } = await startMcp(t, 'threaded', {}, { threads: 2 });
      const home = mkdtempSync(join(tmpdir(), 'mcp-remote-'));
      t.after(() => rmSync(home, { recursive: true, force: true }));
      const target =
        transport === 'http-only'
          ? `${url.replace('127.0.0.1', 'localhost')}/mcp`
          : `${url.replace('127.0.0.1', 'localhost')}/sse`;
      const child = spawn(mcpRemote, [target, '--transport', transport], {
        env: { ...process.env, HOME: home, MCP_REMOTE_CONFIG_DIR: home },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      child.stderr.resume();
      child.on('error', () => {});
      t.after(() => child.kill());
      const lines = createInterface({ input: child.stdout });
      const received: Array<{ id?: number; result?: unknown }> = [];
      const waiters: Array<() => void> = [];
      lines.on('line', (line) => {
        received.push(JSON.parse(line) as { id?: number });
        for (const wake of waiters.splice(0)) wake();
      });
      const answer = async (id: number): Promise<{ result?: unknown }> => {
        const deadline = Date.now() + 20_000;
        for (;;) {
          const found = received.find((message) => message.id === id);
          if (found !== undefined) return found;
          if (Date.now() > deadline) throw new Error(`no answer to ${id}`);
          await new Promise<void>((resolve) => {
            waiters.push(resolve);
            setTimeout(resolve, 200);
          });
        }
      };
      const send = (message: unknown): void => {
        child.stdin.write(`${JSON.stringify(message)}\n`);
      };
      send({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'desktop-like', version: '1' } },
      });
      const init = (await answer(1)) as { result: { serverInfo: { name: string } } };
      assert.equal(init.result.serverInfo.name, 'mcp-transport-test');
      send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
      const list = (await answer(2)) as { result: { tools: Array<{ name: string }> } };
      assert.ok(list.result.tools.some((tool) => tool.name === 'add'));
      send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'add', arguments: { a: 20, b: 22 } } });
      const call = (await answer(3)) as { result: { content: Array<{ text: string }> } };
      assert.equal(call.result.content[0]!.text, '42');
      // Nothing but JSON-RPC came out on stdout (each line parsed above).
      assert.ok(received.every((message) => (message as { jsonrpc?: string }).jsonrpc === '2.0'));
    });
  }
});
