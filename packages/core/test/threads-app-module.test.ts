import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createServer, MxError, Router, type ServerOptions } from '@mummyx/core';
import { jsonOf, send, startThreaded } from './threads-helpers.js';

function fixture(name: string): URL {
  return new URL(`./fixtures/${name}.js`, import.meta.url);
}

/** A threaded server on `app` that is expected not to start; closed when the test ends. */
function unstarted(t: TestContext, app: URL | string, logs: string[] = []) {
  const server = createServer({ app, threads: 2, logHandler: (level, message) => logs.push(`${level}: ${message}`) });
  t.after(() => server.close());
  return server;
}

function hasCode(code: string, message?: RegExp) {
  return (error: unknown): boolean => {
    assert.equal((error as { code?: unknown }).code, code);
    if (message !== undefined) assert.match((error as Error).message, message);
    return true;
  };
}

test('listen() rejects with the import error when the app module does not exist', async (t) => {
  const server = unstarted(t, fixture('threads-app-missing'));
  await assert.rejects(server.listen(0), hasCode('ERR_MODULE_NOT_FOUND', /threads-app-missing\.js/));
  assert.equal(server.address(), undefined, 'the port was never opened');
  assert.equal(server.stats().pool, undefined, 'no worker was started');
});

test('listen() rejects with MX_ERR_APP_INVALID when the module exports no router or handler', async (t) => {
  const server = unstarted(t, fixture('threads-app-no-exports'));
  await assert.rejects(server.listen(0), (error: unknown) => {
    assert.ok(error instanceof MxError);
    assert.equal(error.code, 'MX_ERR_APP_INVALID');
    // The message lists what the module does export.
    assert.match(error.message, /threads-app-no-exports\.js exports .*notARouter/);
    assert.match(error.message, /alsoNotAHandler/);
    return true;
  });
  assert.equal(server.address(), undefined);
});

test('listen() rejects with the error an app module throws while loading', async (t) => {
  const server = unstarted(t, fixture('threads-app-throws'));
  await assert.rejects(server.listen(0), /app module exploded at import/);
  assert.equal(server.address(), undefined);
});

test('listen() rejects with MX_ERR_APP_INVALID when the app loads on the IO thread but not on workers', async (t) => {
  const logs: string[] = [];
  const server = unstarted(t, fixture('threads-app-worker-fails'), logs);
  await assert.rejects(server.listen(0), hasCode('MX_ERR_APP_INVALID', /refuses to load on a worker/));
  assert.equal(server.address(), undefined, 'the port was never opened');
  assert.equal(server.stats().pool, undefined);
  assert.ok(
    logs.some((line) => /cannot load the app module/.test(line)),
    `the failure is logged: ${JSON.stringify(logs)}`,
  );
});

test('an app module exporting `handler`, given as a file path, runs on workers', async (t) => {
  const { port, server } = await startThreaded(t, { app: fileURLToPath(fixture('threads-app-handler')), threads: 1 });
  const reply = await send(port, '/anything?at=all');
  assert.equal(reply.status, 200);
  assert.deepEqual(jsonOf(reply), { from: 'handler', isMainThread: false });
  assert.equal(server.stats().pool?.workers, 1);
});

test('an app module with a default-exported router, given as a URL string, runs on workers', async (t) => {
  const { port } = await startThreaded(t, { app: fixture('threads-app-default').href, threads: 1 });
  const reply = await send(port, '/');
  assert.equal(reply.status, 200);
  assert.deepEqual(jsonOf(reply), { from: 'default', isMainThread: false });
});

test('threads: 0 with an app module runs its handlers inline, without a pool', async (t) => {
  const { port, server } = await startThreaded(t, { threads: 0 });
  const reply = await send(port, '/where');
  assert.equal(reply.status, 200);
  assert.deepEqual(jsonOf(reply), { isMainThread: true, threadId: 0 });
  assert.equal(server.stats().pool, undefined);
});

test('threads without an app module throw MX_ERR_OPTION_INVALID', () => {
  const router = new Router();
  assert.throws(() => createServer(router, { threads: 2 }), hasCode('MX_ERR_OPTION_INVALID', /app module/));
  assert.throws(
    () => createServer((request) => request.respond(200), { threads: { min: 1, max: 2 } }),
    hasCode('MX_ERR_OPTION_INVALID', /app module/),
  );
  // Untyped callers can leave `app` out of the options-only form.
  const optionsOnly = { threads: 2 } as ServerOptions & { app: string };
  assert.throws(() => createServer(optionsOnly), hasCode('MX_ERR_OPTION_INVALID', /app module/));
});

test('invalid thread counts throw MX_ERR_OPTION_INVALID', () => {
  const app = fixture('threads-app');
  const invalid: Array<ServerOptions['threads']> = [
    -1,
    1.5,
    Number.NaN,
    { min: 3, max: 2 },
    { min: 0, max: 0 },
    { min: -1, max: 2 },
    { min: 1, max: 2, idleTimeoutMs: 0 },
  ];
  for (const threads of invalid) {
    assert.throws(
      () => createServer({ app, threads }),
      hasCode('MX_ERR_OPTION_INVALID'),
      `threads: ${JSON.stringify(threads)}`,
    );
  }
  for (const [name, value] of [
    ['maxQueuedRequests', -1],
    ['handlerTimeoutMs', 2.5],
  ] as const) {
    assert.throws(() => createServer({ app, threads: 1, [name]: value }), hasCode('MX_ERR_OPTION_INVALID'), name);
  }
});
