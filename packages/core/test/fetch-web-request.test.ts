// The pure parts of building a web Request (src/fetch/web-request.ts): URL, method, body kind and
// the body stream, without sockets.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import fc from 'fast-check';
import { Headers } from '@mummyx/core';
import { bodyKindOf, isForbiddenMethod, requestUrlOf, webStreamOf } from '../dist/fetch/web-request.js';

const seed = Number(process.env.FC_SEED ?? 20261207);

test('an origin-form target is joined to http:// and the Host, port included', () => {
  assert.equal(requestUrlOf('/a/b?c=1&d', 'example.test'), 'http://example.test/a/b?c=1&d');
  assert.equal(requestUrlOf('/', '127.0.0.1:8080'), 'http://127.0.0.1:8080/');
  assert.equal(requestUrlOf('/x', '[::1]:3000'), 'http://[::1]:3000/x');
});

test('no Host, or an empty one, is localhost; the asterisk form is the root', () => {
  assert.equal(requestUrlOf('/p', undefined), 'http://localhost/p');
  assert.equal(requestUrlOf('/p', ''), 'http://localhost/p');
  assert.equal(requestUrlOf('*', 'h.test'), 'http://h.test/');
});

test('an absolute-form http(s) target is used as it is; other forms are refused', () => {
  assert.equal(requestUrlOf('http://other.test/x?y', 'ignored'), 'http://other.test/x?y');
  assert.equal(requestUrlOf('HTTPS://other.test/', 'ignored'), 'HTTPS://other.test/');
  assert.equal(requestUrlOf('example.test:443', 'h'), undefined);
  assert.equal(requestUrlOf('ftp://files.test/', 'h'), undefined);
});

test('a Host that would change the path, query or authority is refused', () => {
  for (const host of [
    'evil.test/admin',
    'evil.test?',
    'evil.test#',
    'user@evil.test',
    'a\\b',
    'a b',
    'h:80x',
    '[::1',
  ]) {
    assert.equal(requestUrlOf('/p', host), undefined, host);
  }
});

test('property: whatever the Host, a URL built from it names the target path and query, with no user info', () => {
  const printable = fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code));
  const host = fc.string({ unit: printable, maxLength: 24 });
  const segment = fc.string({ unit: fc.constantFrom(...'abcxyz019-_.~'), minLength: 1, maxLength: 8 });
  const target = fc
    .tuple(fc.array(segment, { maxLength: 4 }), fc.option(segment, { nil: undefined }))
    .map(([segments, query]) => `/${segments.join('/')}${query === undefined ? '' : `?${query}`}`)
    .filter((uri) => !/(^|\/)\.\.?(\/|\?|$)/.test(uri));
  fc.assert(
    fc.property(host, target, (h, uri) => {
      const url = requestUrlOf(uri, h);
      if (url === undefined) return;
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        return; // The adapter answers 400 then.
      }
      assert.equal(parsed.pathname + parsed.search, uri);
      assert.equal(parsed.username + parsed.password, '');
      assert.equal(parsed.protocol, 'http:');
    }),
    { seed, numRuns: 3_000 },
  );
});

test('CONNECT, TRACE and TRACK are the methods a web Request cannot carry', () => {
  for (const method of ['CONNECT', 'TRACE', 'TRACK', 'trace']) assert.equal(isForbiddenMethod(method), true, method);
  for (const method of ['GET', 'POST', 'PROPFIND', 'PATCH']) assert.equal(isForbiddenMethod(method), false, method);
});

test('the body kind follows the method, the buffered bytes and the framing headers', () => {
  const headers = (...raw: string[]) => Headers.fromRaw(raw);
  assert.equal(bodyKindOf('GET', 10, headers('Content-Length', '10')), 'none');
  assert.equal(bodyKindOf('HEAD', 0, headers('Transfer-Encoding', 'chunked')), 'none');
  assert.equal(bodyKindOf('POST', 10, headers('Content-Length', '10')), 'buffered');
  assert.equal(bodyKindOf('POST', 0, headers('Content-Length', '0')), 'none');
  assert.equal(bodyKindOf('POST', 0, headers()), 'none');
  assert.equal(bodyKindOf('PUT', 0, headers('Content-Length', '5000000')), 'stream');
  assert.equal(bodyKindOf('PATCH', 0, headers('transfer-encoding', 'chunked')), 'stream');
});

test('the body stream reads the Readable only when its reader asks', async () => {
  let produced = 0;
  const readable = Readable.from(
    (function* () {
      for (let i = 0; i < 100; i++) {
        produced++;
        yield Buffer.from(`chunk ${i};`);
      }
    })(),
    { objectMode: false, highWaterMark: 1 },
  );
  const stream = webStreamOf(readable);
  await nextTurn();
  assert.equal(produced, 0, 'nothing is read before the reader asks');
  const reader = stream.getReader();
  const first = await reader.read();
  assert.equal(Buffer.from(first.value!).toString(), 'chunk 0;');
  assert.ok(produced < 10, `one read pulls about one chunk, not the whole body (${produced})`);
  let text = 'chunk 0;';
  for (;;) {
    const next = await reader.read();
    if (next.done) break;
    text += Buffer.from(next.value).toString();
  }
  assert.equal(text, Array.from({ length: 100 }, (_, i) => `chunk ${i};`).join(''));
});

test('cancelling the body stream destroys the Readable; a failing Readable errors the stream', async () => {
  const endless = new Readable({ read: () => endless.push('x') });
  const stream = webStreamOf(endless);
  const reader = stream.getReader();
  await reader.read();
  await reader.cancel(new Error('handler is done'));
  assert.equal(endless.destroyed, true);

  const failing = new Readable({ read: () => failing.destroy(new Error('client went away')) });
  await assert.rejects(webStreamOf(failing).getReader().read(), /client went away/);
});
