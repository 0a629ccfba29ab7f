import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import {
  createServer,
  MxError,
  Router,
  type ContentEncoding,
  type RequestHandler,
  type ServerOptions,
} from '@mummyx/core';
import { MxError as ModuleMxError } from '../dist/errors.js';
import { Server } from '../dist/server/server.js';
import { deferred, httpGet, RawConnection, rawRequest, start, statusOf, within } from './helpers.js';

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

test('lowers the default headersTimeoutMs to a shorter requestTimeoutMs instead of refusing it', async (t) => {
  // The default headersTimeoutMs (20 000) would exceed this requestTimeoutMs: it is lowered to it,
  // so a head that never completes gets its 408 after about a second, not after 20.
  const { port } = await start(t, ok, { requestTimeoutMs: 1_000 });
  const started = performance.now();
  const { text } = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\n', { idleMs: 15_000, timeoutMs: 15_000 });
  const elapsedMs = performance.now() - started;
  assert.equal(statusOf(text), 408, `answered ${JSON.stringify(text.slice(0, 40))}`);
  assert.ok(elapsedMs >= 900, `408 after ${elapsedMs.toFixed(0)} ms, before the 1 000 ms timeout`);
  assert.ok(elapsedMs < 15_000, `408 after ${elapsedMs.toFixed(0)} ms: the 20 000 ms default still applied`);
});

test('refuses an unknown compression encoding with MX_ERR_OPTION_INVALID', () => {
  const options: ServerOptions = { compression: { encodings: ['zstd' as ContentEncoding, 'gzip'] } };
  assert.throws(() => createServer(ok, options), hasCode('MX_ERR_OPTION_INVALID'));
  assert.throws(
    () => createServer(ok, { compression: { encodings: 'gzip' as unknown as ContentEncoding[] } }),
    hasCode('MX_ERR_OPTION_INVALID'),
  );
});

test('maxBodyBytes: 0 accepts an empty body and answers 413 to a one-byte body', async (t) => {
  const { url } = await start(t, (request) => request.respond(200, {}, `got ${request.body.length}`), {
    maxBodyBytes: 0,
  });
  const empty = await httpGet(url, { method: 'POST', body: '' });
  assert.equal(empty.status, 200);
  assert.equal(empty.body.toString(), 'got 0');
  const one = await httpGet(url, { method: 'POST', body: 'x' });
  assert.equal(one.status, 413);
});

test('requestTimeoutMs: 0 disables the whole-request timeout: a body that trickles in long after the head is served', async (t) => {
  const { port } = await start(t, (request) => request.respond(200, {}, `got ${request.body.toString()}`), {
    requestTimeoutMs: 0,
    headersTimeoutMs: 200,
  });
  const connection = await RawConnection.open(t, port);
  connection.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab');
  // Five times the head's timeout: with any request timeout at or under it, this would be a 408.
  await delay(1_000);
  connection.write('cd');
  const response = await connection.readResponse({ timeoutMs: 10_000 });
  assert.equal(response.status, 200);
  assert.equal(response.body, 'got abcd');
});

test('closeTimeoutMs: 0 closes at once: close() does not wait for a request in flight', async (t) => {
  const never = deferred();
  const arrived = deferred();
  const server = createServer(
    async (request) => {
      arrived.resolve();
      await never.promise;
      request.respond(200, {}, 'too late');
    },
    { closeTimeoutMs: 0, logHandler: () => {} },
  );
  const { port } = await server.listen(0);
  t.after(() => {
    never.resolve();
    return server.close();
  });
  const connection = await RawConnection.open(t, port);
  connection.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await arrived.promise;
  // The handler never settles on its own: a close() that waited for it would never resolve.
  await within(5_000, server.close(), 'close() with closeTimeoutMs 0 and a request in flight');
  assert.equal(await connection.waitClosed(5_000), true, "the in-flight request's connection was closed");
  assert.equal(connection.pending, '', 'and it got no response');
});

test('compression.thresholdBytes: 0 compresses a 100-byte body that the default 860 would send as it is', async (t) => {
  const hundred = 'a'.repeat(100);
  const handler: RequestHandler = (request) =>
    request.respond(200, { 'Content-Type': 'text/plain' }, request.path === '/tiny' ? 'abc' : hundred);
  const { url: zero } = await start(t, handler, { compression: { thresholdBytes: 0 } });
  const { url: byDefault } = await start(t, handler);
  const compressed = await httpGet(zero, { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(compressed.headers['content-encoding'], 'gzip');
  assert.equal(gunzipSync(compressed.body).toString(), hundred);
  const plain = await httpGet(byDefault, { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.equal(plain.body.toString(), hundred);
  // Three bytes are over a threshold of 0 too, but gzip would make them longer: sent as they are.
  const tiny = await httpGet(`${zero}/tiny`, { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(tiny.headers['content-encoding'], undefined);
  assert.equal(tiny.headers.vary, 'Accept-Encoding');
  assert.equal(tiny.body.toString(), 'abc');
});

test('refuses a missing handler with MX_ERR_HANDLER_MISSING', () => {
  assert.throws(() => createServer(undefined as unknown as RequestHandler), hasCode('MX_ERR_HANDLER_MISSING'));
  // Server is not exported as a class: its own module throws the error class of that build (the
  // package's entry is a bundle of the same code).
  assert.throws(
    () => new Server({} as unknown as RequestHandler),
    (error) => error instanceof ModuleMxError && error.code === 'MX_ERR_HANDLER_MISSING',
  );
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
