import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
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

/** A POST whose body the test finishes when it chooses; resolves with the status and body of the answer. */
function slowPost(
  url: string,
  path: string,
): {
  answer: Promise<{ status: number; body: string }>;
  finish: (rest: string) => void;
  start: (first: string) => void;
} {
  const req = httpRequest(`${url}${path}`, {
    method: 'POST',
    agent: false,
    headers: { 'Content-Type': 'text/plain', 'Content-Length': '10' },
  });
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
  });
  return { answer, start: (first) => req.write(first), finish: (rest) => req.end(rest) };
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`${signal} with a request in flight: it finishes, then the demo exits 0`, { timeout: 180_000 }, async (t) => {
    const { child, url, stderr } = await spawnDemo(t, '--threads', '2');
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    // A request whose body is half sent when the signal comes; the test sends the rest only once
    // the demo says it is closing. Its handler then runs on a worker, after close() began.
    const upload = slowPost(url, '/echo');
    upload.start('01234');
    const deadline = Date.now() + 60_000;
    for (;;) {
      assert.ok(Date.now() < deadline, 'the upload never showed as in flight');
      const stats = (await (await fetch(`${url}/stats`)).json()) as { requestsInFlight: number };
      // /stats (answered on the IO thread) counts itself.
      if (stats.requestsInFlight >= 2) break;
      await delay(5);
    }
    child.kill(signal);
    while (!stderr().includes(`${signal}, closing`)) {
      assert.ok(Date.now() < deadline, `no "${signal}, closing" on stderr: ${stderr()}`);
      await delay(5);
    }
    upload.finish('56789');
    assert.deepEqual(await upload.answer, { status: 200, body: '0123456789' }, 'the upload finished after the signal');
    const [code, killedBy] = await exited;
    assert.deepEqual([code, killedBy], [0, null], `exit: ${stderr()}`);
  });
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
