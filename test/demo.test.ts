import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { EventSource } from 'eventsource';
import { startProgram } from './start-program.js';
import { temporaryDir } from './stdio-exchange.js';
import WebSocket from 'ws';

const cli = fileURLToPath(new URL('../../apps/demo/dist/cli.js', import.meta.url));

/**
 * The environment of a demo started by a test: its data folder is a temporary one (never the
 * user's ~/.cache/mummyx-demo), also for runs that stop before reading --data-dir.
 */
function demoEnv(t: TestContext): NodeJS.ProcessEnv {
  return { ...process.env, MUMMYX_DEMO_DATA_DIR: temporaryDir(t, 'mummyx-demo-test-') };
}

/** Starts `mummyx-demo` on a free port with a temporary data folder and waits for its listening line. */
function startDemo(t: TestContext, ...args: string[]): Promise<string> {
  return startProgram(t, cli, { args: ['--port', '0', '--data-dir', temporaryDir(t, 'mummyx-demo-test-'), ...args] });
}

/** Starts the demo as a child the test signals itself; resolves with the child, its URL and its stderr so far. */
async function spawnDemo(
  t: TestContext,
  ...args: string[]
): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(process.execPath, [cli, '--port', '0', ...args], {
    env: demoEnv(t),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let output = '';
  for await (const chunk of child.stdout) {
    output += String(chunk);
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
    if (url !== undefined) {
      child.stdout.resume();
      return { child, url, stderr: () => stderr };
    }
  }
  throw new Error(`the demo exited without listening: ${output}\n${stderr}`);
}

test('the demo serves its page and health, and exits cleanly on SIGTERM', async (t) => {
  const { child, url } = await spawnDemo(t);
  const page = await fetch(`${url}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /MummyX demo/);
  assert.deepEqual(await (await fetch(`${url}/health`)).json(), { status: 'ok' });
  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0);
  t.diagnostic(`exit code ${code}`);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(
    `${signal} with a request in flight: the request finishes, then the demo exits 0`,
    { timeout: 60_000 },
    async (t) => {
      const { child, url, stderr } = await spawnDemo(t, '--threads', '2');
      const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
      // About a second of synchronous work on a worker (several on a busy machine).
      let answeredAt = Number.POSITIVE_INFINITY;
      const work = fetch(`${url}/work?rounds=3000000`).then(async (response) => {
        const body = (await response.json()) as { rounds: number; elapsedMs: number; thread: string };
        answeredAt = performance.now();
        return { status: response.status, body };
      });
      // In flight: its worker is busy (/stats answers on the IO thread meanwhile).
      for (;;) {
        const stats = (await (await fetch(`${url}/stats`)).json()) as { pool?: { busyWorkers: number } };
        if (stats.pool?.busyWorkers === 1) break;
        await delay(10);
      }
      const signalledAt = performance.now();
      child.kill(signal);
      const { status, body } = await work;
      assert.ok(answeredAt > signalledAt, 'the answer came after the signal: the request was in flight');
      assert.equal(status, 200);
      assert.equal(body.rounds, 3_000_000);
      assert.match(body.thread, /^worker \d+$/);
      const [code, killedBy] = await exited;
      assert.deepEqual([code, killedBy], [0, null], `exit: ${stderr()}`);
      assert.match(stderr(), new RegExp(`${signal}, closing`));
    },
  );
}

test('a ping answers while a blocking job holds another worker', async (t) => {
  const url = await startDemo(t, '--threads', '2');
  await fetch(`${url}/ping`); // both workers are up (min 2)
  const work = fetch(`${url}/work?rounds=4000000`).then(async (r) => (await r.json()) as { elapsedMs: number });
  await new Promise((resolve) => setTimeout(resolve, 50));
  const started = performance.now();
  const ping = await fetch(`${url}/ping`);
  const pingMs = performance.now() - started;
  assert.equal(ping.status, 200);
  const job = await work;
  t.diagnostic(`work ${job.elapsedMs} ms, ping ${pingMs.toFixed(1)} ms`);
  assert.ok(job.elapsedMs > 200, `the job blocked its worker for ${job.elapsedMs} ms`);
  assert.ok(pingMs < job.elapsedMs / 2, `ping took ${pingMs} ms while the job took ${job.elapsedMs} ms`);
});

test('chat messages reach every chat socket and the activity stream', async (t) => {
  const url = await startDemo(t, '--threads', '1-4');
  const events = new EventSource(`${url}/events`);
  t.after(() => events.close());
  const chatSeen = new Promise<string>((resolve) =>
    events.addEventListener('chat', (event) => resolve(String(event.data))),
  );
  await new Promise((resolve) => events.addEventListener('hello', resolve));

  const open = async (): Promise<{ socket: WebSocket; lines: string[] }> => {
    const socket = new WebSocket(`${url.replace('http', 'ws')}/chat`);
    t.after(() => socket.terminate());
    const lines: string[] = [];
    socket.on('message', (data: Buffer) => lines.push(data.toString('utf8')));
    await once(socket, 'open');
    return { socket, lines };
  };
  const alice = await open();
  const bob = await open();
  // Both are subscribed once their welcome arrived.
  const welcomed = async (lines: string[]): Promise<void> => {
    while (lines.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
  };
  await welcomed(alice.lines);
  await welcomed(bob.lines);
  alice.socket.send('hello bob');
  const deadline = Date.now() + 5_000;
  while (!bob.lines.some((line) => line.includes('hello bob')) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.ok(
    bob.lines.some((line) => (JSON.parse(line) as { text: string }).text === 'hello bob'),
    bob.lines.join('\n'),
  );
  assert.match(await chatSeen, /hello bob/);
});

test('refuses a bad --port with a clear message and exit code 2', async (t) => {
  const child = spawn(process.execPath, [cli, '--port', 'eighty'], {
    env: demoEnv(t),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 2);
  assert.match(stderr, /--port must be an integer/);
});

test('--help prints every mode and option and exits 0; an unknown option exits 2', async (t) => {
  const help = spawn(process.execPath, [cli, '--help'], { env: demoEnv(t), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  help.stdout.on('data', (chunk) => (stdout += String(chunk)));
  const [code] = (await once(help, 'exit')) as [number | null];
  assert.equal(code, 0);
  for (const text of [
    '--port',
    '--host',
    '--threads',
    '--stdio',
    '--conformance',
    'claude-config',
    '--install',
    '--config',
  ]) {
    assert.ok(stdout.includes(text), text);
  }
  const bad = spawn(process.execPath, [cli, '--colour'], { env: demoEnv(t), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  bad.stderr.on('data', (chunk) => (stderr += String(chunk)));
  const [badCode] = (await once(bad, 'exit')) as [number | null];
  assert.equal(badCode, 2);
  assert.match(stderr, /Unknown option '--colour'/);
});
