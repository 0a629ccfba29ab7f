import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createServer, Router, serveFile } from '@mummyx/core';
import { parseRange } from '../dist/http/byte-ranges.js';
import { httpGet, start } from './helpers.js';
import { tempDirectory } from './tus-helpers.js';

const size = 100_000;

async function setup(t: TestContext): Promise<{ url: string; data: Buffer; path: string; directory: string }> {
  const directory = await tempDirectory(t, 'mx-files-');
  const data = randomBytes(size);
  const path = join(directory, 'data.bin');
  await writeFile(path, data);
  await mkdir(join(directory, 'sub'));
  const router = new Router();
  router.get('/file', (request) => serveFile(request, path));
  router.get('/text', (request) =>
    serveFile(request, path, { contentType: 'text/plain', headers: { 'X-Extra': '1' } }),
  );
  router.get('/missing', (request) => serveFile(request, join(directory, 'nope')));
  router.get('/directory', (request) => serveFile(request, join(directory, 'sub')));
  const { url } = await start(t, router);
  return { url, data, path, directory };
}

test('parseRange reads single, suffix, open and multiple ranges and ignores malformed ones', () => {
  assert.deepEqual(parseRange(undefined, 10), { kind: 'whole' });
  assert.deepEqual(parseRange('bytes=0-4', 10), { kind: 'ranges', ranges: [{ start: 0, end: 4 }] });
  assert.deepEqual(parseRange('bytes=-3', 10), { kind: 'ranges', ranges: [{ start: 7, end: 9 }] });
  assert.deepEqual(parseRange('bytes=-30', 10), { kind: 'ranges', ranges: [{ start: 0, end: 9 }] });
  assert.deepEqual(parseRange('bytes=8-', 10), { kind: 'ranges', ranges: [{ start: 8, end: 9 }] });
  assert.deepEqual(parseRange('bytes=5-100', 10), { kind: 'ranges', ranges: [{ start: 5, end: 9 }] });
  assert.deepEqual(parseRange('Bytes = 0-0 , 2-3', 10), {
    kind: 'ranges',
    ranges: [
      { start: 0, end: 0 },
      { start: 2, end: 3 },
    ],
  });
  assert.deepEqual(parseRange('bytes=10-', 10), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=-0', 10), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=10-20,30-', 10), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=0-1', 0), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=12-20,0-1', 10), { kind: 'ranges', ranges: [{ start: 0, end: 1 }] });
  for (const bad of ['bytes=5-1', 'bytes=abc', 'bytes=-', 'items=0-1', 'bytes', 'bytes=1-2-3', 'bytes=0x1-2']) {
    assert.deepEqual(parseRange(bad, 10), { kind: 'whole' }, bad);
  }
  assert.deepEqual(parseRange(`bytes=${Array.from({ length: 65 }, () => '0-0').join(',')}`, 10), { kind: 'whole' });
});

test('serves the whole file with Accept-Ranges, ETag, Last-Modified; HEAD has the same head and no body', async (t) => {
  const { url, data, path } = await setup(t);
  const whole = await httpGet(`${url}/file`);
  assert.equal(whole.status, 200);
  assert.ok(whole.body.equals(data));
  assert.equal(whole.headers['accept-ranges'], 'bytes');
  assert.equal(whole.headers['content-length'], String(size));
  assert.equal(whole.headers['content-type'], 'application/octet-stream');
  assert.match(whole.headers.etag!, /^"[0-9a-f]+-[0-9a-f]+"$/);
  const modified = Math.floor((await stat(path)).mtimeMs / 1000) * 1000;
  assert.equal(Date.parse(whole.headers['last-modified']!), modified);
  const head = await httpGet(`${url}/file`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  assert.equal(head.headers['content-length'], String(size));
  assert.equal(head.headers.etag, whole.headers.etag);
  const text = await httpGet(`${url}/text`, { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(text.headers['content-type'], 'text/plain');
  assert.equal(text.headers['x-extra'], '1');
  assert.equal(text.headers['content-encoding'], undefined, 'files are sent as they are');
  assert.ok(text.body.equals(data));
});

test('a single range answers 206 with Content-Range and exactly those bytes', async (t) => {
  const { url, data } = await setup(t);
  const cases: Array<[string, number, number]> = [
    ['bytes=0-99', 0, 99],
    ['bytes=99990-', 99_990, size - 1],
    ['bytes=-500', size - 500, size - 1],
    ['bytes=50000-999999999', 50_000, size - 1],
    ['bytes=7-7', 7, 7],
  ];
  for (const [range, start, end] of cases) {
    const response = await httpGet(`${url}/file`, { headers: { Range: range } });
    assert.equal(response.status, 206, range);
    assert.equal(response.headers['content-range'], `bytes ${start}-${end}/${size}`);
    assert.equal(response.headers['content-length'], String(end - start + 1));
    assert.ok(response.body.equals(data.subarray(start, end + 1)), range);
  }
});

test('several ranges answer multipart/byteranges with CRLF lines and the right bytes per part', async (t) => {
  const { url, data } = await setup(t);
  const response = await httpGet(`${url}/file`, { headers: { Range: 'bytes=0-9, 50-59,-5' } });
  assert.equal(response.status, 206);
  const match = /^multipart\/byteranges; boundary=(.+)$/.exec(response.headers['content-type']!);
  assert.ok(match !== null, response.headers['content-type']);
  const boundary = match[1]!;
  assert.equal(response.headers['content-length'], String(response.body.length));
  const body = response.body.toString('latin1');
  const parts = body.split(`\r\n--${boundary}`);
  assert.equal(parts[0], '', 'nothing before the first boundary but its CRLF');
  assert.equal(parts.at(-1), '--\r\n', 'the closing boundary ends the body');
  const expected: Array<[number, number]> = [
    [0, 9],
    [50, 59],
    [size - 5, size - 1],
  ];
  assert.equal(parts.length, expected.length + 2);
  expected.forEach(([start, end], i) => {
    const part = parts[i + 1]!;
    const [head, content] = [part.slice(0, part.indexOf('\r\n\r\n')), part.slice(part.indexOf('\r\n\r\n') + 4)];
    assert.equal(head, `\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${start}-${end}/${size}`);
    assert.ok(Buffer.from(content, 'latin1').equals(data.subarray(start, end + 1)), `part ${i}`);
  });
});

test('unsatisfiable ranges answer 416 with Content-Range: bytes */size; malformed ones get the whole file', async (t) => {
  const { url, data } = await setup(t);
  for (const range of [`bytes=${size}-`, 'bytes=-0', `bytes=${size + 5}-${size + 10}`]) {
    const response = await httpGet(`${url}/file`, { headers: { Range: range } });
    assert.equal(response.status, 416, range);
    assert.equal(response.headers['content-range'], `bytes */${size}`);
  }
  for (const range of ['bytes=10-5', 'bytes=abc', 'pages=1-2', 'bytes=--1']) {
    const response = await httpGet(`${url}/file`, { headers: { Range: range } });
    assert.equal(response.status, 200, range);
    assert.ok(response.body.equals(data));
  }
});

test('If-Range sends the range only while the validator matches; If-None-Match and If-Modified-Since give 304', async (t) => {
  const { url, data } = await setup(t);
  const { headers } = await httpGet(`${url}/file`, { method: 'HEAD' });
  const etag = headers.etag!;
  const lastModified = headers['last-modified']!;
  const ranged = await httpGet(`${url}/file`, { headers: { Range: 'bytes=0-9', 'If-Range': etag } });
  assert.equal(ranged.status, 206);
  assert.ok(ranged.body.equals(data.subarray(0, 10)));
  const byDate = await httpGet(`${url}/file`, { headers: { Range: 'bytes=0-9', 'If-Range': lastModified } });
  assert.equal(byDate.status, 206);
  for (const stale of ['"0-0"', `W/${etag}`, 'Thu, 01 Jan 1970 00:00:00 GMT']) {
    const response = await httpGet(`${url}/file`, { headers: { Range: 'bytes=0-9', 'If-Range': stale } });
    assert.equal(response.status, 200, stale);
    assert.ok(response.body.equals(data));
  }
  for (const conditional of [
    { 'If-None-Match': etag },
    { 'If-None-Match': `"other", W/${etag}` },
    { 'If-None-Match': '*' },
    { 'If-Modified-Since': lastModified },
  ]) {
    const response = await httpGet(`${url}/file`, { headers: conditional });
    assert.equal(response.status, 304, JSON.stringify(conditional));
    assert.equal(response.body.length, 0);
    assert.equal(response.headers.etag, etag);
  }
  assert.equal((await httpGet(`${url}/file`, { headers: { 'If-None-Match': '"other"' } })).status, 200);
  const older = await httpGet(`${url}/file`, { headers: { 'If-Modified-Since': 'Thu, 01 Jan 1970 00:00:00 GMT' } });
  assert.equal(older.status, 200);
});

test('a missing file or a directory answers 404', async (t) => {
  const { url } = await setup(t);
  assert.equal((await httpGet(`${url}/missing`)).status, 404);
  assert.equal((await httpGet(`${url}/directory`)).status, 404);
});

test('threaded: a worker streams the file, ranges, validators and HEAD answered as inline', async (t) => {
  const directory = await tempDirectory(t, 'mx-files-');
  const data = randomBytes(size);
  const path = join(directory, 'data.bin');
  await writeFile(path, data);
  process.env['MX_FILES_TEST_PATH'] = path;
  const server = createServer({
    app: new URL('./fixtures/files-app.js', import.meta.url),
    threads: 2,
    logHandler: () => {},
  });
  t.after(() => server.close());
  const { url } = await server.listen(0);
  const whole = await httpGet(`${url}/worker`);
  assert.equal(whole.status, 200);
  assert.equal(whole.headers['x-main-thread'], 'false');
  assert.equal(whole.headers['content-length'], String(size));
  assert.ok(whole.body.equals(data));
  const etag = whole.headers.etag!;
  const cases: Array<[string, Record<string, string>]> = [
    ['GET', {}],
    ['HEAD', {}],
    ['GET', { Range: 'bytes=500-1499' }],
    ['GET', { Range: 'bytes=-3' }],
    ['GET', { Range: 'bytes=99990-' }],
    ['GET', { Range: 'bytes=10-19,-3,40000-40100' }],
    ['GET', { Range: `bytes=${size}-` }],
    ['GET', { Range: 'bytes=abc' }],
    ['GET', { Range: 'bytes=0-9', 'If-Range': '"not-the-etag"' }],
    ['GET', { Range: 'bytes=0-9', 'If-Range': etag }],
    ['GET', { 'If-None-Match': etag }],
    ['HEAD', { Range: 'bytes=0-9' }],
  ];
  // Multipart boundaries are random: compared with each answer's own replaced by one name.
  const normalize = (text: string, boundary: string | undefined): string =>
    boundary === undefined ? text : text.split(boundary).join('BOUNDARY');
  for (const [method, headers] of cases) {
    const what = `${method} ${JSON.stringify(headers)}`;
    const [onWorker, inline] = await Promise.all([
      httpGet(`${url}/worker`, { method, headers }),
      httpGet(`${url}/inline`, { method, headers }),
    ]);
    assert.equal(onWorker.status, inline.status, what);
    for (const name of ['content-length', 'content-range', 'accept-ranges', 'etag', 'last-modified']) {
      assert.equal(onWorker.headers[name], inline.headers[name], `${what}: ${name}`);
    }
    const boundaryOf = (type: string | undefined): string | undefined => /boundary=(\S+)/.exec(type ?? '')?.[1];
    const workerBoundary = boundaryOf(onWorker.headers['content-type']);
    const inlineBoundary = boundaryOf(inline.headers['content-type']);
    assert.equal(
      normalize(onWorker.headers['content-type'] ?? '', workerBoundary),
      normalize(inline.headers['content-type'] ?? '', inlineBoundary),
      `${what}: content-type`,
    );
    assert.equal(
      normalize(onWorker.body.toString('latin1'), workerBoundary),
      normalize(inline.body.toString('latin1'), inlineBoundary),
      `${what}: body`,
    );
  }
  const single = await httpGet(`${url}/worker`, { headers: { Range: 'bytes=500-1499' } });
  assert.equal(single.status, 206);
  assert.ok(single.body.equals(data.subarray(500, 1500)));
});
