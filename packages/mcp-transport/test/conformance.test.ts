// The official MCP conformance suite against the demo server with its conformance fixtures
// (`mummyx-demo --conformance`), threaded: every active scenario must pass, with no
// expected-failures list. 0.1.13 is the newest release that runs on Node 20; on Node 22 and
// later the suite's current release runs instead. The 2025-11-25 run (0.2.0-alpha.12) needs Node
// 22: on Node 20 the suite runs on the `node@22` package from npm, against the demo on Node 20.
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { nodeOrSkip, toolOrSkip } from './tools-install.js';

const cli = fileURLToPath(new URL('../../../apps/demo/dist/cli.js', import.meta.url));
const major = Number(process.versions.node.split('.')[0]);
const suiteVersion = major >= 22 ? '0.1.16' : '0.1.13';

async function startDemo(t: import('node:test').TestContext): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mummyx-conformance-'));
  const child = spawn(
    process.execPath,
    [cli, '--port', '0', '--threads', '2', '--conformance', '--data-dir', dataDir],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.on('error', () => {});
  child.stderr.resume();
  t.after(async () => {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(dataDir, { recursive: true, force: true });
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the demo did not start: ${out}`)), 20_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`the demo exited (${code}): ${out}`)));
  });
}

/**
 * Runs the suite `version` on Node `runtimeMajor` or later (this Node when it is recent enough,
 * else the `node@runtimeMajor` package) against the demo on this Node.
 */
async function runSuite(
  t: import('node:test').TestContext,
  version: string,
  runtimeMajor: number,
  extraArgs: string[],
  minimumPassed: number,
): Promise<void> {
  const bin = toolOrSkip(t, `conformance-${version}`, `@modelcontextprotocol/conformance@${version}`, 'conformance');
  const node = nodeOrSkip(t, Math.max(major, runtimeMajor));
  if (bin === undefined || node === undefined) return;
  t.diagnostic(
    `suite on ${node === process.execPath ? 'this Node' : node}, ${execFileSync(node, ['--version']).toString().trim()}`,
  );
  const url = await startDemo(t);
  const output = mkdtempSync(join(tmpdir(), 'conformance-results-'));
  t.after(() => rmSync(output, { recursive: true, force: true }));
  const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
    execFile(
      node,
      [bin, 'server', '--url', `${url}/mcp`, '-o', output, ...extraArgs],
      { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      (error, out) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout: out });
      },
    );
  });
  const summary = /Total: (\d+) passed, (\d+) failed/.exec(stdout);
  t.diagnostic(summary?.[0] ?? 'no summary line');
  const failed = stdout.split('\n').filter((line) => line.startsWith('✗'));
  assert.deepEqual(failed, [], `failing scenarios:\n${failed.join('\n')}`);
  assert.ok(summary !== null, `no summary in the suite's output:\n${stdout.slice(-2_000)}`);
  assert.ok(Number(summary[1]) >= minimumPassed, `only ${summary[1]} checks passed`);
  assert.equal(summary[2], '0');
  assert.equal(code, 0);
}

test(`conformance suite ${suiteVersion}: every active server scenario passes`, (t) =>
  runSuite(t, suiteVersion, major, [], 40));

// The suite's next line (it needs Node 22) adds the session-lifecycle scenarios: DELETE, then 404.
test(`conformance suite 0.2.0-alpha.12 on Node ${Math.max(major, 22)}, spec 2025-11-25: every scenario passes, session lifecycle included`, (t) =>
  runSuite(t, '0.2.0-alpha.12', 22, ['--spec-version', '2025-11-25'], 70));
