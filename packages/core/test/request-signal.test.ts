// request.signal inline and on a worker thread (fixtures/response-streams-app.ts): it aborts
// when the client disconnects before the response is complete — while the handler works, when
// read after the client left, during a streamed response (response-streams.test.ts) — and never
// once the response was complete.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { createServer, type Server } from '@mummyx/core';
import { gatesFor } from './gate-helpers.js';
import { router } from './fixtures/response-streams-app.js';
import { httpGet, rawSend } from './helpers.js';

const appUrl = new URL('./fixtures/response-streams-app.js', import.meta.url);

/** One worker in threaded mode: a later request runs where the earlier one did. */
async function serve(
  t: TestContext,
  mode: 'inline' | 'threads',
): Promise<{ server: Server; port: number; url: string }> {
  const options = { logLevel: 'error' as const, logHandler: () => {} };
  const server =
    mode === 'inline' ? createServer(router, options) : createServer({ ...options, app: appUrl, threads: 1 });
  t.after(() => server.close());
  const { port, url } = await server.listen(0);
  return { server, port, url };
}

/** Waits until the server has seen every connection close. */
async function connectionsClosed(server: Server): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (server.stats().connections > 0) {
    if (Date.now() > deadline) throw new Error(`${server.stats().connections} connection(s) still open`);
    await delay(5);
  }
}

for (const mode of ['inline', 'threads'] as const) {
  const where = mode === 'inline' ? 'main' : 'worker';

  test(`${mode}: request.signal aborts with an AbortError when the client leaves before the answer`, async (t) => {
    const { port } = await serve(t, mode);
    const gates = gatesFor(t);
    const socket = rawSend(t, port, `GET /hold?token=${gates.token} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await gates.heard('waiting');
    socket.destroy();
    assert.equal(await gates.heard('aborted', (text) => text.startsWith('aborted ')), `aborted AbortError ${where}`);
  });

  test(`${mode}: request.signal read after the client left is aborted (inline at once, on a worker soon after)`, async (t) => {
    const { port, server } = await serve(t, mode);
    const gates = gatesFor(t);
    const socket = rawSend(t, port, `GET /late?token=${gates.token} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await gates.heard('waiting');
    socket.destroy();
    await connectionsClosed(server);
    gates.say('left');
    const said = await gates.heard('aborted', (text) => text.startsWith('aborted '));
    assert.equal(said, mode === 'inline' ? 'aborted at once main' : 'aborted later worker');
  });

  test(`${mode}: request.signal never aborts once the response was complete, even when the client then leaves`, async (t) => {
    const { port, server, url } = await serve(t, mode);
    const token = `complete-${process.pid}-${mode}`;
    const socket = rawSend(t, port, `GET /complete?token=${token} HTTP/1.1\r\nHost: x\r\n\r\n`);
    let text = '';
    await new Promise<void>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.endsWith('\r\n\r\ndone')) resolve();
      });
    });
    socket.destroy();
    await connectionsClosed(server);
    // Runs where /complete ran (one worker): messages for that worker are read before it takes
    // a request, so an abort sent when the connection closed would have arrived by now.
    const reply = await httpGet(`${url}/aborted?token=${token}`);
    assert.deepEqual(JSON.parse(reply.body.toString()), { aborted: false });
  });
}
