// Sticky sessions on worker threads (route option `session`, request.bindSession) and per-upgrade
// WebSocket options (subprotocol, handler).
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { WebSocket as WsClient } from 'ws';
import { createServer, sharedSecret, type Server } from '@mummyx/core';
import { openGate } from './fixtures/gate.js';
import { jsonOf, send, waitFor } from './threads-helpers.js';

const app = new URL('./fixtures/sessions-app.js', import.meta.url);

interface Answer {
  threadId: number;
  knows?: boolean;
  secret?: string;
}

async function startSessions(
  t: TestContext,
  threads: number | { min: number; max: number },
): Promise<{ server: Server; port: number }> {
  const server = createServer({ app, threads, logLevel: 'error' });
  const { port } = await server.listen(0);
  t.after(() => server.close());
  return { server, port };
}

test('a bound key routes every later request to the worker that bound it', async (t) => {
  const { server, port } = await startSessions(t, 4);
  const home = jsonOf<Answer>(await send(port, '/s/alpha/bind', { method: 'POST' })).threadId;
  assert.notEqual(home, 0);
  assert.equal(server.stats().sessions, 1);
  for (let i = 0; i < 20; i++) {
    const answer = jsonOf<Answer>(await send(port, '/s/alpha/where'));
    assert.equal(answer.threadId, home);
    assert.equal(answer.knows, true);
  }
});

test('new sessions spread over the workers holding the fewest', async (t) => {
  const { server, port } = await startSessions(t, 4);
  const homes = [];
  for (const key of ['a', 'b', 'c', 'd'])
    homes.push(jsonOf<Answer>(await send(port, `/s/${key}/bind`, { method: 'POST' })).threadId);
  assert.equal(new Set(homes).size, 4, `homes ${homes.join(', ')}`);
  assert.equal(server.stats().sessions, 4);
});

test("a session's request waits for its busy worker; other sessions' requests do not", async (t) => {
  const gate = openGate();
  const { port } = await startSessions(t, 2);
  const a = jsonOf<Answer>(await send(port, '/s/a/bind', { method: 'POST' })).threadId;
  const b = jsonOf<Answer>(await send(port, '/s/b/bind', { method: 'POST' })).threadId;
  assert.notEqual(a, b);
  const settled: string[] = [];
  const blocking = send(port, '/s/a/gate-wait').finally(() => settled.push('blocking'));
  await gate.arrivals(1);
  // Session a's worker is held at the gate until the test opens it, after b's answer.
  const sameSession = send(port, '/s/a/where').finally(() => settled.push('same session'));
  const otherSession = await send(port, '/s/b/where');
  assert.equal(jsonOf<Answer>(otherSession).threadId, b, "b's request ran on b's worker");
  assert.deepEqual(settled, [], "b was answered while a's worker was blocked, and a's request still waits");
  gate.open();
  const [blocked, same] = await Promise.all([blocking, sameSession]);
  assert.equal(blocked.status, 200);
  assert.equal(jsonOf<Answer & { isOpened: boolean }>(blocked).isOpened, true);
  assert.equal(jsonOf<Answer>(same).threadId, a, 'same worker, even while it is busy');
  assert.deepEqual(settled, ['blocking', 'same session'], 'the queued request ran after the blocking one');
});

test('a worker runs several requests of its sessions at once while they await', async (t) => {
  const { port } = await startSessions(t, 2);
  const home = jsonOf<Answer>(await send(port, '/s/a/bind', { method: 'POST' })).threadId;
  // Each answers only once all four have started on the worker: one after another, they would not.
  const replies = await Promise.all([1, 2, 3, 4].map(() => send(port, '/s/a/together?n=4&round=awaits')));
  for (const reply of replies) {
    const answer = jsonOf<Answer & { isTogether: boolean }>(reply);
    assert.equal(answer.threadId, home);
    assert.equal(answer.isTogether, true, 'all four awaited on the worker at once');
  }
});

test('release unbinds; a worker that exits takes its bindings with it and the key moves on', async (t) => {
  const { server, port } = await startSessions(t, 2);
  await send(port, '/s/a/bind', { method: 'POST' });
  await send(port, '/s/b/bind', { method: 'POST' });
  assert.equal(server.stats().sessions, 2);
  await send(port, '/s/a/release', { method: 'POST' });
  assert.equal(server.stats().sessions, 1);
  const home = jsonOf<Answer>(await send(port, '/s/b/where')).threadId;
  const crashed = await send(port, '/s/b/crash', { method: 'POST' });
  assert.equal(crashed.status, 500);
  await waitFor('the binding to go', () => server.stats().sessions === 0);
  const after = jsonOf<Answer>(await send(port, '/s/b/where'));
  assert.equal(after.knows, false, 'the new worker does not know the session');
  assert.notEqual(after.threadId, home);
});

test('an elastic pool starts a worker for a new session instead of doubling up', async (t) => {
  const { server, port } = await startSessions(t, { min: 1, max: 3 });
  const homes = [];
  for (const key of ['a', 'b', 'c'])
    homes.push(jsonOf<Answer>(await send(port, `/s/${key}/bind`, { method: 'POST' })).threadId);
  assert.equal(new Set(homes).size, 3);
  assert.equal(server.stats().pool?.workers, 3);
  // At max, the next session shares a worker.
  const fourth = jsonOf<Answer>(await send(port, '/s/d/bind', { method: 'POST' })).threadId;
  assert.ok(homes.includes(fourth));
});

test('inline: bindSession counts sessions in stats', async (t) => {
  const { router } = (await import(app.href)) as { router: import('@mummyx/core').Router };
  const server = createServer(router, { logLevel: 'error' });
  const { port } = await server.listen(0);
  t.after(() => server.close());
  await send(port, '/s/x/bind', { method: 'POST' });
  assert.equal(server.stats().sessions, 1);
  await send(port, '/s/x/release', { method: 'POST' });
  assert.equal(server.stats().sessions, 0);
});

for (const threads of [0, 2]) {
  test(`upgradeToWebSocket({ protocol, handler }) echoes the subprotocol and runs the socket's own handler (threads ${threads})`, async (t) => {
    const server =
      threads === 0
        ? createServer(((await import(app.href)) as { router: import('@mummyx/core').Router }).router, {
            logLevel: 'error',
          })
        : createServer({ app, threads, logLevel: 'error' });
    const { port } = await server.listen(0);
    t.after(() => server.close());
    const socket = new WsClient(`ws://127.0.0.1:${port}/ws-proto`, ['chat.v1', 'chat.v2']);
    socket.on('error', () => {});
    const messages: string[] = [];
    socket.on('message', (data: Buffer) => messages.push(data.toString()));
    await new Promise((resolve) => socket.once('open', resolve));
    assert.equal(socket.protocol, 'chat.v2');
    socket.send('ping');
    await waitFor('the echo', () => messages.length === 2);
    assert.equal(messages[0], 'hello from the per-socket handler');
    assert.match(messages[1]!, /^socket \d+: ping$/);
    socket.close();
    // A client that did not offer the protocol gets none echoed (and can refuse the socket).
    const other = new WsClient(`ws://127.0.0.1:${port}/ws-proto`, ['chat.v1']);
    const failed = await new Promise<string>((resolve) => {
      other.once('open', () => resolve(`opened with "${other.protocol}"`));
      other.once('error', (error) => resolve(error.message));
    });
    assert.match(failed, /subprotocol/i);
  });
}

test('a session option that returns false runs the request like any other; undefined places a new session', async (t) => {
  const { port } = await startSessions(t, 2);
  const home = jsonOf<Answer>(await send(port, '/s/a/bind', { method: 'POST' })).threadId;
  // A plain request goes to the free worker holding no session, and blocks it for a while.
  const blocking = send(port, '/block?ms=600');
  await new Promise((resolve) => setTimeout(resolve, 50));
  // No session: the free worker takes it at once, though it holds a session.
  const none = await send(port, '/opt/none');
  assert.equal(jsonOf<Answer>(none).threadId, home);
  // No key yet: placed as a new session, on the worker holding the fewest — the blocked one.
  const placed = await send(port, '/opt/new');
  const blocked = jsonOf<Answer>(await blocking).threadId;
  assert.notEqual(blocked, home);
  assert.equal(jsonOf<Answer>(placed).threadId, blocked);
});

test('sharedSecret() is the same 32 bytes on the main thread and on every worker', async (t) => {
  const { port } = await startSessions(t, 4);
  const answers: Answer[] = [];
  for (const key of ['a', 'b', 'c', 'd']) {
    await send(port, `/s/${key}/bind`, { method: 'POST' });
    answers.push(jsonOf<Answer>(await send(port, `/s/${key}/secret`)));
  }
  assert.equal(new Set(answers.map((answer) => answer.threadId)).size, 4, 'four workers answered');
  const here = Buffer.from(sharedSecret()).toString('hex');
  assert.equal(here.length, 64);
  assert.deepEqual(
    answers.map((answer) => answer.secret),
    [here, here, here, here],
  );
  assert.equal(Buffer.from(sharedSecret()).toString('hex'), here, 'the same on every call');
});
