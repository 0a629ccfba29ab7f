import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';

const examplesDir = fileURLToPath(new URL('../../examples/dist/', import.meta.url));

/** Starts a compiled example on a free port and waits for its "listening on" line. */
async function runExample(t: TestContext, name: string): Promise<string> {
  const child = spawn(process.execPath, [`${examplesDir}${name}.js`], {
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });
  let output = '';
  for await (const chunk of child.stdout) {
    output += String(chunk);
    const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
    if (match !== null) return match[1]!;
  }
  throw new Error(`example ${name} exited without listening: ${output}`);
}

test('hello example answers Hello, World!', async (t) => {
  const url = await runExample(t, 'hello');
  const response = await fetch(`${url}/`);
  assert.equal(await response.text(), 'Hello, World!');
});

test('router example serves params, query, echo and its custom 404', async (t) => {
  const url = await runExample(t, 'router');
  assert.deepEqual(await (await fetch(`${url}/users/42`)).json(), { id: '42' });
  assert.deepEqual(await (await fetch(`${url}/users/me`)).json(), { id: 'me' });
  assert.deepEqual(await (await fetch(`${url}/search?q=a&q=b+c`)).json(), { q: ['a', 'b c'], page: '1' });
  const echo = await fetch(`${url}/echo`, { method: 'POST', headers: { 'content-type': 'text/x-test' }, body: 'ping' });
  assert.equal(echo.headers.get('content-type'), 'text/x-test');
  assert.equal(await echo.text(), 'ping');
  const missing = await fetch(`${url}/nope`);
  assert.equal(missing.status, 404);
  assert.equal(await missing.text(), 'nothing at /nope\n');
});
