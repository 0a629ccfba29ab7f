import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Request } from '@mummyx/core';
import { onlyResponse, rawRequest, start } from './helpers.js';

/** What the echo handler reports about a request. */
interface Seen {
  method: string;
  uri: string;
  path: string;
  httpVersion: string;
  remoteAddress: string;
  query: Array<[string, string]>;
  headers: Array<[string, string]>;
  body: string;
  bodyIsBuffer: boolean;
  text: string;
}

function describe(request: Request): Seen {
  return {
    method: request.method,
    uri: request.uri,
    path: request.path,
    httpVersion: request.httpVersion,
    remoteAddress: request.remoteAddress,
    query: [...request.query],
    headers: request.headers.toJSON(),
    body: request.body.toString('base64'),
    bodyIsBuffer: Buffer.isBuffer(request.body),
    text: request.toString(),
  };
}

/** Starts an echo server and returns a function that sends raw request bytes and parses what the handler saw. */
async function echo(t: TestContext): Promise<(bytes: string | Buffer) => Promise<Seen>> {
  const { port } = await start(t, (request) => request.respond(200, {}, JSON.stringify(describe(request))));
  return async (bytes) => {
    const { text } = await rawRequest(port, bytes, { idleMs: 2_000 });
    const response = onlyResponse(text);
    assert.equal(response.status, 200, text);
    return JSON.parse(Buffer.from(response.body, 'latin1').toString('utf8')) as Seen;
  };
}

const get = (target: string, ...headers: string[]): string =>
  [`GET ${target} HTTP/1.1`, 'Host: x', ...headers, 'Connection: close', '', ''].join('\r\n');

test('gives the method, the raw target as uri and the HTTP version', async (t) => {
  const send = await echo(t);
  const seen = await send(get('/a%20b/c?x=1&y=%41'));
  assert.equal(seen.method, 'GET');
  assert.equal(seen.uri, '/a%20b/c?x=1&y=%41');
  assert.equal(seen.httpVersion, '1.1');
  assert.equal(seen.text, 'GET /a%20b/c?x=1&y=%41 HTTP/1.1');
});

test("reports httpVersion '1.0' for an HTTP/1.0 request", async (t) => {
  const send = await echo(t);
  const seen = await send('GET /old HTTP/1.0\r\n\r\n');
  assert.equal(seen.httpVersion, '1.0');
  assert.equal(seen.path, '/old');
});

for (const [target, path, search] of [
  ['/a%20b', '/a b', []],
  ['/caf%C3%A9', '/café', []],
  ['/a%2Fb', '/a/b', []],
  ['/a+b', '/a+b', []],
  ['/', '/', []],
  ['/?', '/', []],
  ['/p?q=1', '/p', [['q', '1']]],
  ['/p?a?b=c', '/p', [['a?b', 'c']]],
  ['/p#frag', '/p', []],
  ['/p?q=1#frag', '/p', [['q', '1']]],
  ['http://x/p?q=1', '/p', [['q', '1']]],
  ['HTTP://example.com:8080/a%20b', '/a b', []],
  ['http://x', '/', []],
  ['http://x?q=1', '/', [['q', '1']]],
] as Array<[string, string, Array<[string, string]>]>) {
  test(`reads the target ${target} as path ${JSON.stringify(path)} with its query`, async (t) => {
    const send = await echo(t);
    const seen = await send(get(target));
    assert.equal(seen.uri, target);
    assert.equal(seen.path, path);
    assert.deepEqual(seen.query, search);
  });
}

test('decodes + as a space in the query and keeps repeated names in order', async (t) => {
  const { port } = await start(t, (request) =>
    request.respond(
      200,
      {},
      JSON.stringify({
        first: request.query.get('a'),
        all: request.query.getAll('a'),
        q: request.query.get('q'),
        missing: request.query.get('nope'),
      }),
    ),
  );
  const { text } = await rawRequest(port, get('/s?a=1&q=hello+big%20world&a=2&a=3+4'));
  assert.deepEqual(JSON.parse(onlyResponse(text).body), {
    first: '1',
    all: ['1', '2', '3 4'],
    q: 'hello big world',
    missing: null,
  });
});

test('looks up headers case-insensitively and keeps duplicates in arrival order', async (t) => {
  const { port } = await start(t, (request) =>
    request.respond(
      200,
      {},
      JSON.stringify({
        get: request.headers.get('x-custom'),
        getUpper: request.headers.get('X-CUSTOM'),
        all: request.headers.getAll('X-Custom'),
        accept: request.headers.getAll('accept'),
        absent: request.headers.get('x-absent') ?? null,
        has: request.headers.has('HOST'),
      }),
    ),
  );
  const { text } = await rawRequest(
    port,
    get('/', 'X-Custom: one', 'Accept: text/html', 'x-custom: two', 'X-CUSTOM: three', 'Accept: */*'),
  );
  assert.deepEqual(JSON.parse(onlyResponse(text).body), {
    get: 'one',
    getUpper: 'one',
    all: ['one', 'two', 'three'],
    accept: ['text/html', '*/*'],
    absent: null,
    has: true,
  });
});

test('keeps header names as they arrived', async (t) => {
  const send = await echo(t);
  const seen = await send(get('/', 'X-MiXeD-Case: v'));
  assert.deepEqual(
    seen.headers.find(([name]) => name.toLowerCase() === 'x-mixed-case'),
    ['X-MiXeD-Case', 'v'],
  );
});

test('gives the body of a POST as a Buffer, bytes intact', async (t) => {
  const send = await echo(t);
  const body = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const head = `POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
  const seen = await send(Buffer.concat([Buffer.from(head), body]));
  assert.equal(seen.method, 'POST');
  assert.equal(seen.bodyIsBuffer, true);
  assert.deepEqual(Buffer.from(seen.body, 'base64'), body);
});

test('joins a chunked body into one Buffer', async (t) => {
  const send = await echo(t);
  const seen = await send(
    'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n' +
      '3\r\nabc\r\n4\r\ndefg\r\n1\r\nh\r\n0\r\n\r\n',
  );
  assert.equal(Buffer.from(seen.body, 'base64').toString(), 'abcdefgh');
});

test('gives an empty Buffer as the body of a GET', async (t) => {
  const send = await echo(t);
  const seen = await send(get('/'));
  assert.equal(seen.bodyIsBuffer, true);
  assert.equal(seen.body, '');
});

test('gives the body sent with fetch', async (t) => {
  const { url } = await start(t, (request) => request.respond(200, {}, `${request.method} ${request.body.toString()}`));
  const response = await fetch(`${url}/items`, { method: 'PUT', body: 'payload ✓' });
  assert.equal(await response.text(), 'PUT payload ✓');
});

test('reports the client address 127.0.0.1', async (t) => {
  const send = await echo(t);
  const seen = await send(get('/'));
  assert.equal(seen.remoteAddress, '127.0.0.1');
});
