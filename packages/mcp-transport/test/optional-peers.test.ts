// Both SDK lines are optional peer dependencies: an application with only one installed works. A
// child process hides the other line from module resolution (fixtures/hide-packages.ts).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const hide = fileURLToPath(new URL('./fixtures/hide-packages.js', import.meta.url));
const child = fileURLToPath(new URL('./fixtures/optional-peer-child.js', import.meta.url));

function runChild(hidden: string, args: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', hide, child, ...args],
      { env: { ...process.env, MCP_TEST_HIDE: hidden }, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error !== null) reject(new Error(`${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>);
      },
    );
  });
}

test('only @modelcontextprotocol/sdk 1.x installed: 2025 served, 2026 refused so clients fall back, requestState says why', async () => {
  const results = await runChild('@modelcontextprotocol/server,@modelcontextprotocol/client', ['v1']);
  assert.equal(results['v2Importable'], false, 'SDK 2.x is hidden');
  assert.deepEqual(results['modern'], {
    status: 400,
    body: {
      jsonrpc: '2.0',
      id: 'probe',
      error: { code: -32000, message: 'Bad Request: this endpoint serves MCP 2025-11-25, 2025-06-18, 2025-03-26 only' },
    },
  });
  assert.equal(results['legacy'], '3');
  assert.deepEqual(results['serverOptions'], [{}]);
  assert.equal(results['mint'], 'MX_ERR_SDK_MISSING');
});

for (const mode of ['inline', 'threaded']) {
  test(`only @modelcontextprotocol/server 2.x installed (${mode}): both eras served`, async () => {
    const results = await runChild('@modelcontextprotocol/sdk', ['v2', mode]);
    assert.equal(results['v1Importable'], false, 'SDK 1.x is hidden');
    assert.equal(results['default'], 'legacy');
    assert.equal(results['pin'], 'modern');
  });
}
