// The Request API behaves the same on a worker thread as inline: each test
// runs once against the fixture router on the IO thread and once on workers.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { createServer } from '@mummyx/core';
import { bigText, router, textOfBytes } from './fixtures/threads-app.js';
import { rawRequest, statusOf } from './helpers.js';
import { send, startThreaded } from './threads-helpers.js';

type Mode = 'inline' | 'threaded';

interface Started {
  port: number;
  logs: string[];
  restarts: () => number;
}

async function startMode(t: TestContext, mode: Mode): Promise<Started> {
  if (mode === 'threaded') {
    const { server, port, logs } = await startThreaded(t, { threads: 2 });
    return { port, logs, restarts: () => server.stats().pool?.workerRestarts ?? -1 };
  }
  const logs: string[] = [];
  const server = createServer(router, { logHandler: (level, message) => logs.push(`${level}: ${message}`) });
  t.after(() => server.close());
  const { port } = await server.listen(0);
  return { port, logs, restarts: () => 0 };
}

for (const mode of ['inline', 'threaded'] as const) {
  const onWorker = mode === 'threaded';

  test(`${mode}: the handler sees method, path, query, pathParams, headers, body and remoteAddress`, async (t) => {
    const { port } = await startMode(t, mode);
    const body = 'héllo ✓ body';
    const reply = await send(port, '/inspect/42/caf%C3%A9%20bar?x=1&x=2&y=a+b&z=%C3%A9', {
      method: 'PUT',
      headers: { 'Content-Type': 'text/plain; charset=utf-8', 'X-Custom': 'Value', 'x-multi': ['one', 'two'] },
      body,
    });
    assert.equal(reply.status, 200);
    const seen = JSON.parse(reply.body.toString()) as Record<string, unknown>;
    assert.equal(seen.method, 'PUT');
    assert.equal(seen.uri, '/inspect/42/caf%C3%A9%20bar?x=1&x=2&y=a+b&z=%C3%A9');
    assert.equal(seen.httpVersion, '1.1');
    assert.equal(seen.path, '/inspect/42/café bar');
    assert.deepEqual(seen.query, [
      ['x', '1'],
      ['x', '2'],
      ['y', 'a b'],
      ['z', 'é'],
    ]);
    assert.deepEqual(seen.pathParams, { id: '42', name: 'café bar' });
    const headers = seen.headers as Array<[string, string]>;
    assert.ok(
      headers.some(([name, value]) => name === 'X-Custom' && value === 'Value'),
      'header names keep their case',
    );
    assert.ok(headers.some(([name, value]) => name === 'Host' && value === `127.0.0.1:${port}`));
    assert.deepEqual(seen.multi, ['one', 'two'], 'repeated fields stay separate and in order');
    assert.equal(seen.body, body);
    assert.equal(seen.bodyLength, Buffer.byteLength(body));
    assert.equal(seen.remoteAddress, '127.0.0.1');
    assert.equal(seen.isMainThread, !onWorker);
  });

  test(`${mode}: an HTTP/1.0 request reports httpVersion 1.0 and an empty body`, async (t) => {
    const { port } = await startMode(t, mode);
    const { text } = await rawRequest(port, 'DELETE /inspect/7/x HTTP/1.0\r\n\r\n');
    assert.equal(statusOf(text), 200);
    const seen = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
    assert.equal(seen.httpVersion, '1.0');
    assert.equal(seen.method, 'DELETE');
    assert.equal(seen.bodyLength, 0);
    assert.deepEqual(seen.query, []);
  });

  test(`${mode}: large bodies are compressed as Accept-Encoding asks`, async (t) => {
    const { port } = await startMode(t, mode);
    const gzip = await send(port, '/big', { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(gzip.status, 200);
    assert.equal(gzip.headers['content-encoding'], 'gzip');
    assert.equal(gzip.headers.vary, 'Accept-Encoding');
    assert.equal(Number(gzip.headers['content-length']), gzip.body.length);
    assert.ok(gzip.body.length < bigText.length / 10, `gzip body is ${gzip.body.length} bytes`);
    assert.equal(gunzipSync(gzip.body).toString(), bigText);

    const br = await send(port, '/big', { headers: { 'Accept-Encoding': 'br;q=1, gzip;q=0.5' } });
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(brotliDecompressSync(br.body).toString(), bigText);

    const identity = await send(port, '/big');
    assert.equal(identity.headers['content-encoding'], undefined);
    assert.equal(identity.headers['content-length'], String(bigText.length));
    assert.equal(identity.body.toString(), bigText);
  });

  test(`${mode}: HEAD answers the GET headers without a body`, async (t) => {
    const { port } = await startMode(t, mode);
    const plain = await send(port, '/big', { method: 'HEAD' });
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['content-length'], String(bigText.length));
    assert.equal(plain.body.length, 0);

    const gzipped = await send(port, '/big', { method: 'HEAD', headers: { 'Accept-Encoding': 'gzip' } });
    const get = await send(port, '/big', { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(gzipped.headers['content-encoding'], 'gzip');
    assert.equal(gzipped.headers['content-length'], get.headers['content-length']);
    assert.equal(gzipped.body.length, 0);
  });

  test(`${mode}: 204 is sent without a body or Content-Length`, async (t) => {
    const { port } = await startMode(t, mode);
    const { text } = await rawRequest(port, 'GET /no-content HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(statusOf(text), 204);
    const [head = '', rest] = text.split('\r\n\r\n');
    assert.equal(rest, '', 'nothing follows the header block');
    assert.doesNotMatch(head, /content-length/i);
    assert.match(head, /content-type: text\/plain/i);
  });

  test(`${mode}: binary bodies cross intact in both directions`, async (t) => {
    const { port } = await startMode(t, mode);
    const bytes = randomBytes(300 * 1024);
    const echoed = await send(port, '/echo', { body: bytes, headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(echoed.status, 200);
    assert.ok(echoed.body.equals(bytes), 'the 300 KiB body came back unchanged');

    const built = await send(port, '/bytes');
    assert.equal(built.status, 200);
    assert.equal(built.body.length, 4_096);
    for (let i = 0; i < built.body.length; i++) assert.equal(built.body[i], (i * 7) & 0xff);
  });

  test(`${mode}: text bodies of every size arrive as their exact UTF-8 bytes`, async (t) => {
    const { port } = await startMode(t, mode);
    // Around the size up to which a worker's text body crosses back as text, and past the mailbox.
    for (const size of [0, 1, 10, 8_191, 8_192, 8_193, 20_000, 40_000]) {
      const expected = Buffer.from(textOfBytes(size));
      assert.equal(expected.length, size);
      const response = await send(port, `/text/${size}`);
      assert.equal(response.status, 200);
      assert.equal(response.headers['content-length'], String(size));
      assert.ok(response.body.equals(expected), `the ${size}-byte body arrived unchanged`);
    }
    // A lone surrogate becomes U+FFFD, as Node encodes it inline.
    const lone = await send(port, '/lone-surrogate');
    assert.deepEqual([...lone.body], [0x61, 0xef, 0xbf, 0xbd, 0x62]);
  });

  test(`${mode}: a handler that throws, rejects or never responds gets 500`, async (t) => {
    const { port, logs, restarts } = await startMode(t, mode);
    for (const [path, logged] of [
      ['/throw', /handler exploded/],
      ['/reject', /handler rejected/],
      ['/silent', /finished without responding/],
      ['/silent-async', /finished without responding/],
    ] as const) {
      const reply = await send(port, path);
      assert.equal(reply.status, 500, path);
      assert.equal(reply.body.toString(), 'Internal Server Error', path);
      assert.ok(
        logs.some((line) => line.startsWith('error: ') && logged.test(line) && line.includes(`GET ${path} `)),
        `${path} is logged: ${JSON.stringify(logs)}`,
      );
    }
    assert.equal(restarts(), 0, 'handler errors cost no worker');
    assert.equal((await send(port, '/fast')).status, 200);
  });
}
