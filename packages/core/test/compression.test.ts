import assert from 'node:assert/strict';
import { test } from 'node:test';
import { brotliDecompressSync, gunzipSync, gzipSync, inflateSync } from 'node:zlib';
import fc from 'fast-check';
import { Router, type ContentEncoding, type HeadersInit, type ServerOptions } from '@mummyx/core';
import { negotiateEncoding } from '../dist/http/compression.js';
import { httpGet, start } from './helpers.js';

const seed = Number(process.env.FC_SEED ?? 20261126);

/** Compressible text of exactly `bytes` bytes. */
function textOf(bytes: number): string {
  const line = 'The quick brown fox jumps over the lazy dog. ';
  return line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes);
}

const big = textOf(4_000);

/** Serves `body` with `headers` at every path and fetches it with `acceptEncoding`. */
async function fetchWith(
  t: Parameters<typeof start>[0],
  acceptEncoding: string | undefined,
  body: string | Buffer = big,
  headers: HeadersInit = { 'Content-Type': 'text/plain; charset=utf-8' },
  options: ServerOptions = {},
  method = 'GET',
): ReturnType<typeof httpGet> {
  const { url } = await start(t, (request) => request.respond(200, headers, body), options);
  return httpGet(`${url}/`, {
    method,
    headers: acceptEncoding === undefined ? {} : { 'Accept-Encoding': acceptEncoding },
  });
}

test('gzips a body over 860 bytes for Accept-Encoding: gzip', async (t) => {
  const response = await fetchWith(t, 'gzip');
  assert.equal(response.headers['content-encoding'], 'gzip');
  assert.equal(response.headers['content-length'], String(response.body.length));
  assert.ok(response.body.length < Buffer.byteLength(big));
  assert.equal(gunzipSync(response.body).toString(), big);
});

test('compresses with br for Accept-Encoding: br', async (t) => {
  const response = await fetchWith(t, 'br');
  assert.equal(response.headers['content-encoding'], 'br');
  assert.equal(brotliDecompressSync(response.body).toString(), big);
});

test('compresses with zlib deflate for Accept-Encoding: deflate', async (t) => {
  const response = await fetchWith(t, 'deflate');
  assert.equal(response.headers['content-encoding'], 'deflate');
  assert.equal(inflateSync(response.body).toString(), big);
});

test('compresses a Buffer body', async (t) => {
  const body = Buffer.from(big);
  const response = await fetchWith(t, 'gzip', body, { 'Content-Type': 'application/json' });
  assert.equal(response.headers['content-encoding'], 'gzip');
  assert.deepEqual(gunzipSync(response.body), body);
});

test('does not gzip for gzip;q=0', async (t) => {
  const response = await fetchWith(t, 'gzip;q=0');
  assert.equal(response.headers['content-encoding'], undefined);
  assert.equal(response.body.toString(), big);
});

test('picks another offered encoding when gzip has q=0', async (t) => {
  const response = await fetchWith(t, 'gzip;q=0, br');
  assert.equal(response.headers['content-encoding'], 'br');
});

test('does not compress for *;q=0', async (t) => {
  const response = await fetchWith(t, '*;q=0');
  assert.equal(response.headers['content-encoding'], undefined);
  assert.equal(response.body.toString(), big);
});

test('does not compress for identity', async (t) => {
  const response = await fetchWith(t, 'identity');
  assert.equal(response.headers['content-encoding'], undefined);
  assert.equal(response.body.toString(), big);
});

test('does not compress without Accept-Encoding', async (t) => {
  const response = await fetchWith(t, undefined);
  assert.equal(response.headers['content-encoding'], undefined);
  assert.equal(response.headers['content-length'], String(Buffer.byteLength(big)));
  assert.equal(response.body.toString(), big);
});

test('picks the encoding with the highest q-value', async (t) => {
  const response = await fetchWith(t, 'gzip;q=0.2, deflate;q=0.5, br;q=0.9');
  assert.equal(response.headers['content-encoding'], 'br');
});

test('picks a lower-preference encoding the client weighs higher', async (t) => {
  const response = await fetchWith(t, 'gzip;q=0.1, deflate');
  assert.equal(response.headers['content-encoding'], 'deflate');
});

test('sends Vary: Accept-Encoding with a compressed body', async (t) => {
  const response = await fetchWith(t, 'gzip');
  assert.equal(response.headers.vary, 'Accept-Encoding');
});

test('sends Vary: Accept-Encoding with an uncompressed body over the threshold', async (t) => {
  const response = await fetchWith(t, undefined);
  assert.equal(response.headers.vary, 'Accept-Encoding');
});

test('merges Accept-Encoding into an existing Vary', async (t) => {
  const response = await fetchWith(t, 'gzip', big, { 'Content-Type': 'text/plain', Vary: 'Origin' });
  assert.equal(response.headers.vary, 'Origin, Accept-Encoding');
  assert.equal(response.rawHeaders.filter((name) => name.toLowerCase() === 'vary').length, 1);
});

test('leaves Vary: * alone', async (t) => {
  const response = await fetchWith(t, 'gzip', big, { 'Content-Type': 'text/plain', Vary: '*' });
  assert.equal(response.headers.vary, '*');
});

test('sends a body of exactly 860 bytes uncompressed', async (t) => {
  const body = textOf(860);
  const response = await fetchWith(t, 'gzip', body);
  assert.equal(response.headers['content-encoding'], undefined);
  assert.equal(response.headers.vary, undefined);
  assert.equal(response.body.toString(), body);
});

test('gzips a body of 861 bytes', async (t) => {
  const body = textOf(861);
  const response = await fetchWith(t, 'gzip', body);
  assert.equal(response.headers['content-encoding'], 'gzip');
  assert.equal(gunzipSync(response.body).toString(), body);
});

test('leaves a body that already has a Content-Encoding untouched', async (t) => {
  const precompressed = gzipSync(Buffer.from(big));
  const response = await fetchWith(t, 'gzip, br', precompressed, {
    'Content-Type': 'text/plain',
    'Content-Encoding': 'gzip',
  });
  assert.equal(response.headers['content-encoding'], 'gzip');
  assert.deepEqual(response.body, precompressed);
});

for (const type of ['text/event-stream', 'image/png', 'video/mp4', 'application/zip', 'font/woff2']) {
  test(`never compresses ${type}`, async (t) => {
    const response = await fetchWith(t, 'gzip, br, deflate', big, { 'Content-Type': type });
    assert.equal(response.headers['content-encoding'], undefined);
    assert.equal(response.body.toString(), big);
  });
}

for (const type of ['image/svg+xml', 'application/json', 'text/html; charset=utf-8']) {
  test(`compresses ${type}`, async (t) => {
    const response = await fetchWith(t, 'gzip', big, { 'Content-Type': type });
    assert.equal(response.headers['content-encoding'], 'gzip');
  });
}

test('does not compress when the compression option is false', async (t) => {
  const response = await fetchWith(
    t,
    'gzip, br, deflate',
    big,
    { 'Content-Type': 'text/plain' },
    { compression: false },
  );
  assert.equal(response.headers['content-encoding'], undefined);
  assert.equal(response.headers.vary, undefined);
  assert.equal(response.body.toString(), big);
});

test('follows a custom threshold and list of encodings', async (t) => {
  const options: ServerOptions = { compression: { thresholdBytes: 100, encodings: ['br'] } };
  const body = textOf(200);
  const gzipOnly = await fetchWith(t, 'gzip', body, { 'Content-Type': 'text/plain' }, options);
  assert.equal(gzipOnly.headers['content-encoding'], undefined);
  const brotli = await fetchWith(t, 'gzip, br', body, { 'Content-Type': 'text/plain' }, options);
  assert.equal(brotli.headers['content-encoding'], 'br');
  assert.equal(brotliDecompressSync(brotli.body).toString(), body);
});

test('sends an incompressible body as it is when compressing would make it larger', async (t) => {
  // A linear congruential sequence of bytes: no repeats for gzip to exploit.
  const noise = Buffer.alloc(2_000);
  let x = 12_345;
  for (let i = 0; i < noise.length; i++) {
    x = (x * 1_103_515_245 + 12_345) >>> 0;
    noise[i] = x >>> 24;
  }
  const response = await fetchWith(t, 'gzip', noise, { 'Content-Type': 'text/plain' });
  assert.equal(response.headers['content-encoding'], undefined);
  assert.deepEqual(response.body, noise);
});

test('answers HEAD with the Content-Length and Content-Encoding the GET would have', async (t) => {
  const router = new Router();
  router.get('/', (request) => request.respond(200, { 'Content-Type': 'text/plain' }, big));
  const { url } = await start(t, router);
  const get = await httpGet(url, { headers: { 'Accept-Encoding': 'gzip' } });
  const head = await httpGet(url, { method: 'HEAD', headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(head.headers['content-encoding'], 'gzip');
  assert.equal(head.headers['content-length'], get.headers['content-length']);
  assert.equal(head.body.length, 0);
});

const all: ContentEncoding[] = ['gzip', 'br', 'deflate'];

for (const [header, offered, expected] of [
  [undefined, all, undefined],
  ['', all, undefined],
  ['gzip', all, 'gzip'],
  ['GZIP', all, 'gzip'],
  ['x-gzip', all, 'gzip'],
  ['br', all, 'br'],
  ['deflate', all, 'deflate'],
  ['identity', all, undefined],
  ['zstd', all, undefined],
  ['*', all, 'gzip'],
  ['*', ['br', 'gzip'], 'br'],
  ['*;q=0', all, undefined],
  ['gzip;q=0', all, undefined],
  ['gzip;q=0, *', all, 'br'],
  ['br;q=0.5, *', all, 'gzip'],
  ['br, gzip', all, 'gzip'],
  ['br, gzip', ['br', 'gzip'], 'br'],
  ['gzip;q=0.5, br;q=0.8', all, 'br'],
  ['gzip;q=0.5, br;q=0.8', ['gzip'], 'gzip'],
  ['gzip; q=0.5 , deflate ; q=0.9', all, 'deflate'],
  ['gzip;Q=0.1, br;q=0.2', all, 'br'],
  ['gzip;q=0.001', all, 'gzip'],
  ['gzip, br', [], undefined],
  [' , gzip', all, 'gzip'],
] as Array<[string | undefined, ContentEncoding[], ContentEncoding | undefined]>) {
  test(`negotiateEncoding(${JSON.stringify(header)}, [${offered.join(', ')}]) is ${String(expected)}`, () => {
    assert.equal(negotiateEncoding(header, offered), expected);
  });
}

test('negotiateEncoding picks an offered encoding no other offered one outweighs, never one refused', () => {
  const names = ['gzip', 'br', 'deflate', 'identity', '*', 'x-gzip', 'zstd'] as const;
  const item = fc.record({
    name: fc.constantFrom(...names),
    q: fc.option(fc.integer({ min: 0, max: 1_000 }), { nil: undefined }),
  });
  const offeredArb = fc.shuffledSubarray([...all]);
  fc.assert(
    fc.property(fc.array(item, { maxLength: 6 }), offeredArb, (items, offered) => {
      const header = items.map(({ name, q }) => (q === undefined ? name : `${name};q=${q / 1_000}`)).join(', ');
      // The weight of each encoding: its first explicit mention (x-gzip counts as gzip), else *, else 0.
      const weight = (encoding: string): number => {
        const explicit = items.find(({ name }) => (name === 'x-gzip' ? 'gzip' : name) === encoding);
        const chosen = explicit ?? items.find(({ name }) => name === '*');
        return chosen === undefined ? 0 : (chosen.q ?? 1_000) / 1_000;
      };
      const result = negotiateEncoding(header, offered);
      const best = Math.max(0, ...offered.map(weight));
      if (best === 0) return result === undefined;
      return (
        result !== undefined &&
        offered.includes(result) &&
        weight(result) === best &&
        offered.indexOf(result) === offered.findIndex((encoding) => weight(encoding) === best)
      );
    }),
    { seed, numRuns: 500 },
  );
});
