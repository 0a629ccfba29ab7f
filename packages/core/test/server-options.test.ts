import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createServer,
  MxError,
  Router,
  type ContentEncoding,
  type RequestHandler,
  type ServerOptions,
} from '@mummyx/core';
import { Server } from '../dist/server/server.js';
import { httpGet, start } from './helpers.js';

const ok: RequestHandler = (request) => request.respond(200, {}, 'ok');

function hasCode(code: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof MxError, `expected an MxError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  };
}

const invalidOptions: Array<[string, ServerOptions]> = [
  ['maxHeaderBytes: 0', { maxHeaderBytes: 0 }],
  ['maxHeaderBytes: 1.5', { maxHeaderBytes: 1.5 }],
  ['maxUriBytes: -1', { maxUriBytes: -1 }],
  ['maxBodyBytes: Infinity', { maxBodyBytes: Number.POSITIVE_INFINITY }],
  ['maxBodyBytes: NaN', { maxBodyBytes: Number.NaN }],
  ['headersTimeoutMs: 0', { headersTimeoutMs: 0 }],
  ['requestTimeoutMs: -5', { requestTimeoutMs: -5 }],
  ['keepAliveTimeoutMs: 0', { keepAliveTimeoutMs: 0 }],
  ['closeTimeoutMs: -1', { closeTimeoutMs: -1 }],
  ['compression.thresholdBytes: -1', { compression: { thresholdBytes: -1 } }],
  ["logLevel: 'warn'", { logLevel: 'warn' as ServerOptions['logLevel'] }],
  ['maxBodyBytes as a string', { maxBodyBytes: '10' as unknown as number }],
];

for (const [what, options] of invalidOptions) {
  test(`refuses ${what} with MX_ERR_OPTION_INVALID`, () => {
    assert.throws(() => createServer(ok, options), hasCode('MX_ERR_OPTION_INVALID'));
  });
}

test('refuses a requestTimeoutMs shorter than headersTimeoutMs with MX_ERR_OPTION_INVALID', () => {
  assert.throws(
    () => createServer(ok, { headersTimeoutMs: 500, requestTimeoutMs: 400 }),
    hasCode('MX_ERR_OPTION_INVALID'),
  );
});

test('lowers the default headersTimeoutMs to a shorter requestTimeoutMs instead of refusing it', async () => {
  const server = createServer(ok, { requestTimeoutMs: 10_000 });
  await server.listen(0);
  await server.close();
});

test('refuses an unknown compression encoding with MX_ERR_OPTION_INVALID', async (t) => {
  const options: ServerOptions = { compression: { encodings: ['zstd' as ContentEncoding, 'gzip'] } };
  let server: Server | undefined;
  try {
    server = createServer(ok, options);
  } catch (error) {
    assert.equal(error instanceof MxError && error.code, 'MX_ERR_OPTION_INVALID');
    return;
  }
  await server.close();
  // Accepted: then it must at least answer a client that accepts that encoding.
  const { url } = await start(
    t,
    (request) => request.respond(200, { 'Content-Type': 'text/plain' }, 'a'.repeat(2_000)),
    options,
  );
  const response = await httpGet(url, { headers: { 'Accept-Encoding': 'zstd' }, timeoutMs: 1_500 });
  assert.equal(response.status, 200);
});

test('accepts 0 for maxBodyBytes, requestTimeoutMs, closeTimeoutMs and compression.thresholdBytes', async () => {
  const server = createServer(ok, {
    maxBodyBytes: 0,
    requestTimeoutMs: 0,
    closeTimeoutMs: 0,
    compression: { thresholdBytes: 0 },
    logHandler: () => {},
  });
  await server.listen(0);
  await server.close();
});

test('refuses a missing handler with MX_ERR_HANDLER_MISSING', () => {
  assert.throws(() => createServer(undefined as unknown as RequestHandler), hasCode('MX_ERR_HANDLER_MISSING'));
  assert.throws(() => new Server({} as unknown as RequestHandler), hasCode('MX_ERR_HANDLER_MISSING'));
});

test('listens on 127.0.0.1 by default and reports the address and url', async (t) => {
  const server = createServer(new Router().get('/', ok), { logHandler: () => {} });
  assert.equal(server.address(), undefined);
  t.after(() => server.close());
  const address = await server.listen(0);
  assert.equal(address.host, '127.0.0.1');
  assert.equal(address.family, 'IPv4');
  assert.ok(address.port > 0);
  assert.equal(address.url, `http://127.0.0.1:${address.port}`);
  assert.deepEqual(server.address(), address);
  const response = await fetch(`${address.url}/`);
  assert.equal(await response.text(), 'ok');
});

test('rejects listen() on a port already in use and can listen again afterwards', async (t) => {
  const { port } = await start(t, ok);
  const second = createServer(ok, { logHandler: () => {} });
  t.after(() => second.close());
  await assert.rejects(second.listen(port), (error: NodeJS.ErrnoException) => error.code === 'EADDRINUSE');
  const address = await second.listen(0);
  assert.notEqual(address.port, port);
});

test('routes with a Router passed to createServer the same as with router.handle', async (t) => {
  const router = new Router().get('/r', ok);
  const { url: direct } = await start(t, router);
  const { url: viaHandle } = await start(t, router.handle);
  for (const url of [direct, viaHandle]) {
    assert.equal(await (await fetch(`${url}/r`)).text(), 'ok');
    const missing = await fetch(`${url}/missing`);
    assert.equal(missing.status, 404);
    await missing.arrayBuffer();
  }
});
