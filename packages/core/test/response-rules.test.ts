import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Headers, MxError, Router, type HeadersInit, type RequestHandler, type ResponseBody } from '@mummyx/core';
import { onlyResponse, parseResponses, rawRequest, start } from './helpers.js';

function codeOf(error: unknown): string {
  return error instanceof MxError ? error.code : `not an MxError: ${String(error)}`;
}

test('sets Content-Length to the UTF-8 byte length of a string body', async (t) => {
  const body = 'héllo wörld €😀';
  const { port } = await start(t, (request) => request.respond(200, { 'Content-Type': 'text/plain' }, body));
  const { text } = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const response = onlyResponse(text);
  assert.equal(response.header('content-length'), String(Buffer.byteLength(body)));
  assert.equal(Buffer.from(response.body, 'latin1').toString('utf8'), body);
});

test('sends a Buffer body byte for byte with its length', async (t) => {
  const body = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const { url } = await start(t, (request) =>
    request.respond(200, { 'Content-Type': 'application/octet-stream' }, body),
  );
  const response = await fetch(url);
  assert.equal(response.headers.get('content-length'), '256');
  assert.deepEqual(Buffer.from(await response.arrayBuffer()), body);
});

test('sends a Uint8Array body that is a view into a larger buffer', async (t) => {
  const backing = new Uint8Array([9, 9, 1, 2, 3, 9, 9]);
  const view = backing.subarray(2, 5);
  const { url } = await start(t, (request) =>
    request.respond(200, { 'Content-Type': 'application/octet-stream' }, view),
  );
  const response = await fetch(url);
  assert.equal(response.headers.get('content-length'), '3');
  assert.deepEqual([...new Uint8Array(await response.arrayBuffer())], [1, 2, 3]);
});

test('sends Content-Length: 0 when there is no body', async (t) => {
  const { port } = await start(t, (request) => request.respond(200));
  const { text } = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const response = onlyResponse(text);
  assert.equal(response.header('content-length'), '0');
  assert.equal(response.body, '');
});

test("replaces a handler's wrong Content-Length with the body's real length", async (t) => {
  const { port } = await start(t, (request) => request.respond(200, { 'content-length': '999' }, 'abc'));
  const { text } = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const response = onlyResponse(text);
  assert.deepEqual(response.headerAll('content-length'), ['3']);
  assert.equal(response.body, 'abc');
});

test("drops a handler's Transfer-Encoding and sends the whole body with Content-Length", async (t) => {
  const { port } = await start(t, (request) => request.respond(200, { 'Transfer-Encoding': 'chunked' }, 'abc'));
  const { text } = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const response = onlyResponse(text);
  assert.equal(response.header('transfer-encoding'), undefined);
  assert.equal(response.header('content-length'), '3');
  assert.equal(response.body, 'abc');
});

for (const status of [204, 304]) {
  test(`sends no body bytes with ${status} even when the handler passes one`, async (t) => {
    const router = new Router();
    router.get('/empty', (request) =>
      request.respond(status, { 'Content-Length': '4', 'Transfer-Encoding': 'chunked' }, 'oops'),
    );
    router.get('/next', (request) => request.respond(200, {}, 'next'));
    const { port } = await start(t, router);
    // A stray body would show up between the two responses and break the second one.
    const { text } = await rawRequest(
      port,
      'GET /empty HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      { idleMs: 2_000 },
    );
    assert.doesNotMatch(text, /oops/);
    const [first, second, ...rest] = parseResponses(text);
    assert.equal(first?.status, status);
    assert.equal(first?.header('transfer-encoding'), undefined);
    if (status === 204) assert.equal(first?.header('content-length'), undefined);
    assert.equal(second?.body, 'next');
    assert.equal(rest.length, 0);
  });
}

for (const [status, line] of [
  [200, 'HTTP/1.1 200 OK'],
  [201, 'HTTP/1.1 201 Created'],
  [404, 'HTTP/1.1 404 Not Found'],
  [418, "HTTP/1.1 418 I'm a Teapot"],
  [503, 'HTTP/1.1 503 Service Unavailable'],
] as const) {
  test(`writes the status line ${line}`, async (t) => {
    const { port } = await start(t, (request) => request.respond(status, {}, 'x'));
    const { text } = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(onlyResponse(text).statusLine, line);
  });
}

const headerForms: Array<[string, HeadersInit]> = [
  ['an object with an array value', { 'Set-Cookie': ['a=1', 'b=2'], 'X-Count': 3, 'X-Skip': undefined }],
  [
    'an array of pairs',
    [
      ['Set-Cookie', 'a=1'],
      ['X-Count', '3'],
      ['Set-Cookie', 'b=2'],
    ],
  ],
  ['a Headers instance', new Headers().append('Set-Cookie', 'a=1').append('Set-Cookie', 'b=2').set('X-Count', '3')],
];

for (const [form, headers] of headerForms) {
  test(`sends headers given as ${form}, keeping both Set-Cookie fields`, async (t) => {
    const { port } = await start(t, (request) => request.respond(200, headers, 'x'));
    const { text } = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const response = onlyResponse(text);
    assert.deepEqual(response.headerAll('set-cookie'), ['a=1', 'b=2']);
    assert.equal(response.header('x-count'), '3');
    assert.equal(response.header('x-skip'), undefined);
  });
}

/** Serves one request whose handler calls `respond` with the given arguments and reports what it threw. */
async function codeThrownBy(
  t: Parameters<typeof start>[0],
  respondWith: (request: Parameters<RequestHandler>[0]) => void,
): Promise<{ body: string; raw: string; respondedAfterThrow: boolean | undefined }> {
  let respondedAfterThrow: boolean | undefined;
  const { port } = await start(t, (request) => {
    try {
      respondWith(request);
      request.respond(200, {}, 'no error');
    } catch (error) {
      respondedAfterThrow = request.responded;
      request.respond(200, {}, codeOf(error));
    }
  });
  const { text } = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { idleMs: 1_000 });
  const body = text === '' ? '(no response)' : onlyResponse(text).body;
  return { body, raw: text, respondedAfterThrow };
}

const invalidHeaders: Array<[string, HeadersInit]> = [
  ['a CRLF injection in a value', { 'X-A': 'a\r\nSet-Cookie: evil=1' }],
  ['a bare LF in a value', { 'X-A': 'a\nb' }],
  ['a bare CR in a value', { 'X-A': 'a\rb' }],
  ['a NUL in a value', { 'X-A': 'a\0b' }],
  ['a space in a name', { 'Bad Name': 'v' }],
  ['a colon in a name', [['X-A:', 'v']]],
  ['an empty name', [['', 'v']]],
  ['a CRLF in a name', [['X-A\r\nSet-Cookie', 'evil=1']]],
];

for (const [what, headers] of invalidHeaders) {
  test(`throws MX_ERR_HEADER_INVALID from respond() for ${what} and sends nothing of it`, async (t) => {
    const { body, raw, respondedAfterThrow } = await codeThrownBy(t, (request) => request.respond(200, headers, 'x'));
    assert.equal(body, 'MX_ERR_HEADER_INVALID');
    assert.equal(respondedAfterThrow, false);
    assert.doesNotMatch(raw, /evil/);
  });
}

// Node refuses these characters in header values (only HTAB, SP-~ and 0x80-0xFF are valid), so
// respond() must refuse them too instead of throwing Node's TypeError after marking the request
// as responded, which leaves the client without any response.
const controlCharacterValues: Array<[string, string]> = [
  ['a control character (0x01)', 'a\x01b'],
  ['DEL (0x7f)', 'a\x7fb'],
  ['a character above 0xFF', 'price €5'],
];

for (const [what, value] of controlCharacterValues) {
  test(`throws MX_ERR_HEADER_INVALID from respond() for ${what} in a value`, async (t) => {
    const { body, respondedAfterThrow } = await codeThrownBy(t, (request) =>
      request.respond(200, { 'X-A': value }, 'x'),
    );
    assert.equal(body, 'MX_ERR_HEADER_INVALID');
    assert.equal(respondedAfterThrow, false);
  });
}

test('accepts a header value with a tab and obs-text bytes', async (t) => {
  const { port } = await start(t, (request) => request.respond(200, { 'X-A': 'a\tb\u00e9' }, 'x'));
  const { text } = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const response = onlyResponse(text);
  assert.equal(response.status, 200);
  assert.match(response.header('x-a') ?? '', /^a\tb./);
});

for (const status of [99, 100, 199, 600, 200.5, Number.NaN, -1]) {
  test(`throws MX_ERR_STATUS_INVALID from respond() for status ${status}`, async (t) => {
    const { body, respondedAfterThrow } = await codeThrownBy(t, (request) => request.respond(status, {}, 'x'));
    assert.equal(body, 'MX_ERR_STATUS_INVALID');
    assert.equal(respondedAfterThrow, false);
  });
}

for (const [what, bad] of [
  ['a number', 42],
  ['a plain object', { text: 'x' }],
  ['null', null],
] as const) {
  test(`throws MX_ERR_BODY_INVALID from respond() for ${what} as the body`, async (t) => {
    const { body } = await codeThrownBy(t, (request) => request.respond(200, {}, bad as unknown as ResponseBody));
    assert.equal(body, 'MX_ERR_BODY_INVALID');
  });
}

test('throws MX_ERR_RESPONSE_ALREADY_SENT on a second respond() and keeps the first response', async (t) => {
  const states: boolean[] = [];
  let secondCode = '';
  const { url } = await start(t, (request) => {
    states.push(request.responded);
    request.respond(200, {}, 'first');
    states.push(request.responded);
    try {
      request.respond(500, {}, 'second');
    } catch (error) {
      secondCode = codeOf(error);
    }
    states.push(request.responded);
  });
  const response = await fetch(url);
  assert.equal(response.status, 200);
  assert.equal(await response.text(), 'first');
  assert.equal(secondCode, 'MX_ERR_RESPONSE_ALREADY_SENT');
  assert.deepEqual(states, [false, true, true]);
});

test('adds a Date header', async (t) => {
  const { port } = await start(t, (request) => request.respond(200, {}, 'x'));
  const { text } = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const date = onlyResponse(text).header('date');
  assert.ok(date !== undefined && !Number.isNaN(Date.parse(date)), `Date: ${date}`);
});
