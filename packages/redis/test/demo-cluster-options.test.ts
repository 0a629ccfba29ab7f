import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it, type TestContext } from 'node:test';

const demoCli = fileURLToPath(new URL('../../../apps/demo/dist/cli.js', import.meta.url));

/** Runs mummyx-demo to its exit (these invocations never get as far as listening). */
async function run(t: TestContext, args: string[], env: Record<string, string> = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'mummyx-options-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const child = spawn(process.execPath, [demoCli, '--data-dir', dataDir, '--port', '0', ...args], {
    env: { ...process.env, MUMMYX_REDIS_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdout.resume();
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stderr };
}

describe('mummyx-demo cluster options', () => {
  it('refuses --redis, --node-id and --advertise-url where they do not apply, and a URL that is not redis://', async (t) => {
    for (const args of [
      ['--stdio', '--redis', 'redis://127.0.0.1:6379'],
      ['--stdio', '--node-id', 'n1'],
      ['claude-config', '--redis', 'redis://127.0.0.1:6379'],
    ]) {
      const result = await run(t, args);
      assert.equal(result.code, 2, args.join(' '));
      assert.match(result.stderr, /--redis, --node-id and --advertise-url go with the HTTP demo/);
    }
    const stray = await run(t, ['--node-id', 'n1']);
    assert.equal(stray.code, 2);
    assert.match(stray.stderr, /--node-id and --advertise-url go with --redis/);
    for (const [args, env] of [
      [['--redis', 'http://127.0.0.1:6379'], {}],
      [[], { MUMMYX_REDIS_URL: 'localhost:6379' }],
    ] as const) {
      const result = await run(t, [...args], env);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /--redis must be a redis:\/\/ URL/);
    }
  });
});
