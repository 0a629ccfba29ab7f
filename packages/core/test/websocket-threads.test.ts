// WebSockets on worker threads: the worker that upgraded owns the connection; a crashed worker's
// connections close with 1011 and the pool goes on; connections run in parallel on workers.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test, type TestContext } from 'node:test';
import { openGate } from './fixtures/gate.js';
import { httpGet } from './helpers.js';
import type { Where } from './fixtures/websocket-app.js';
import { startApp, waitFor, WsClient, type Started } from './fixtures/websocket-kit.js';

async function openWs(started: Started, path = '/echo'): Promise<WsClient> {
  const client = await WsClient.open(`${started.wsUrl}${path}`);
  started.track(client);
  return client;
}

async function whereOf(client: WsClient): Promise<Where> {
  client.send('!where');
  return JSON.parse(await client.nextText()) as Where;
}

test('every event of a connection runs on the worker that upgraded it', async (t) => {
  const started = await startApp(t, 'threaded', { threads: 3 });
  const client = await openWs(started);
  const first = await whereOf(client);
  assert.equal(first.isMainThread, false);
  for (let i = 0; i < 10; i++) assert.deepEqual(await whereOf(client), first);
});

test(
  'a worker that crashes closes the WebSockets it owns with 1011 and is replaced',
  { timeout: 20_000 },
  async (t) => {
    const started = await startApp(t, 'threaded', { threads: 2 });
    const { server } = started;
    const clients = await Promise.all([1, 2, 3].map(() => openWs(started)));
    const threads = await Promise.all(clients.map(async (client) => (await whereOf(client)).threadId));
    const crashing = threads[0]!;
    clients[0]!.send('!crash');
    for (const [i, client] of clients.entries()) {
      if (threads[i] !== crashing) continue;
      assert.deepEqual(await client.closed, { code: 1011, reason: 'server worker exited' }, `client ${i}`);
    }
    for (const [i, client] of clients.entries()) {
      if (threads[i] === crashing) continue;
      assert.equal((await whereOf(client)).threadId, threads[i], `client ${i} on another worker carries on`);
    }
    const survivors = threads.filter((thread) => thread !== crashing).length;
    await waitFor('the crashed connections counted out', () => server.stats().websockets === survivors);
    await waitFor('the pool back at 2 workers', () => server.stats().pool?.workers === 2);
    assert.equal(server.stats().pool?.workerRestarts, 1);

    const fresh = await openWs(started);
    const where = await whereOf(fresh);
    assert.notEqual(where.threadId, crashing, 'new connections go to a live worker');
    fresh.send('after the crash');
    assert.equal(await fresh.nextText(), 'after the crash');
  },
);

test(
  'connections opened one after another run their handlers in parallel on different workers',
  {
    timeout: 20_000,
  },
  async (t) => {
    openGate();
    const started = await startApp(t, 'threaded', { threads: 2 });
    const first = await openWs(started);
    const second = await openWs(started);
    // Each handler holds its worker until both have started: only handlers running at once can.
    first.send('!gather 2');
    second.send('!gather 2');
    const [a, b] = (await Promise.all([first.nextText(15_000), second.nextText(15_000)])).map(
      (text) => JSON.parse(text) as { threadId: number; isGathered: boolean },
    );
    assert.notEqual(a!.threadId, b!.threadId, 'two workers');
    assert.deepEqual([a!.isGathered, b!.isGathered], [true, true], 'the two blocking handlers ran at once');
  },
);

test(
  'while a WebSocket handler blocks its worker, requests go to the idle worker',
  {
    timeout: 20_000,
  },
  async (t) => {
    const gate = openGate();
    const started = await startApp(t, 'threaded', { threads: 2 });
    const blocker = await openWs(started);
    const blockerThread = (await whereOf(blocker)).threadId;
    // The handler holds its worker at the gate, which opens only after the answers below: they
    // came while that worker was blocked, however slow the machine.
    blocker.send('!gate');
    await gate.arrivals(1);
    const plain = await httpGet(`http://127.0.0.1:${started.port}/plain`, { timeoutMs: 10_000 });
    assert.equal(plain.status, 200);

    // The same holds for an upgrade: its connection must not wait for the blocked worker.
    const other = await openWs(started);
    assert.notEqual((await whereOf(other)).threadId, blockerThread, 'the new connection went to the idle worker');

    gate.open();
    const released = JSON.parse(await blocker.nextText(10_000)) as { threadId: number; isOpened: boolean };
    assert.deepEqual(released, { threadId: blockerThread, isOpened: true }, 'the handler was held by the gate');
  },
);

/** Starts fixtures/websocket-server-main.js in a child process; resolves with its ws:// URL. */
async function startServerProcess(t: TestContext): Promise<{ wsUrl: string; exited: () => boolean }> {
  const child = spawn(process.execPath, [new URL('./fixtures/websocket-server-main.js', import.meta.url).pathname], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  t.after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await once(child, 'exit');
    clearTimeout(timer);
  });
  let output = '';
  for await (const chunk of child.stdout) {
    output += String(chunk);
    const match = /listening on http:\/\/(127\.0\.0\.1:\d+)/.exec(output);
    if (match !== null) {
      child.stdout.resume();
      return { wsUrl: `ws://${match[1]!}`, exited: () => child.exitCode !== null || child.signalCode !== null };
    }
  }
  throw new Error(`the server process exited without listening: ${output}${stderr}`);
}

const invalidCalls = [
  { what: 'a ping payload over 125 bytes', command: `!ping ${'x'.repeat(126)}` },
  { what: 'close code 999', command: '!close 999 invalid' },
  { what: 'a close reason over 123 bytes', command: `!close 1000 ${'r'.repeat(124)}` },
];

for (const { what, command } of invalidCalls) {
  test(
    `${what} from a handler on a worker does not bring the server down`,
    {
      timeout: 20_000,
    },
    async (t) => {
      const { wsUrl, exited } = await startServerProcess(t);
      const client = await WsClient.open(`${wsUrl}/echo`);
      t.after(() => client.destroy());
      client.send(command);
      client.send('after the invalid call');
      // The connection may carry on (the call failed in the handler) or close; the server must live.
      await client.next(2_000).catch(() => undefined);
      assert.equal(exited(), false, 'the server process is still running');
      const fresh = await WsClient.open(`${wsUrl}/echo`);
      t.after(() => fresh.destroy());
      fresh.send('server alive');
      assert.equal(await fresh.nextText(), 'server alive');
    },
  );
}
