import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Request, ServerOptions } from '@mummyx/core';
import { onlyResponse, rawRequest, start, type RawOptions } from './helpers.js';

/** A server whose handler records every request it is given and echoes the body length. */
async function recordingServer(
  t: TestContext,
  options: ServerOptions = {},
): Promise<{ port: number; seen: string[]; bodies: Buffer[] }> {
  const seen: string[] = [];
  const bodies: Buffer[] = [];
  const { port } = await start(
    t,
    (request: Request) => {
      seen.push(`${request.method} ${request.uri}`);
      bodies.push(request.body);
      request.respond(200, {}, `got ${request.body.length}`);
    },
    options,
  );
  return { port, seen, bodies };
}

/**
 * Sends `bytes` and asserts the server answered exactly one `status` response
 * with Connection: close, closed the connection and never ran the handler.
 */
async function assertRejected(
  t: TestContext,
  bytes: string | Buffer,
  statusLine: string,
  options: ServerOptions = {},
  raw: RawOptions = {},
): Promise<void> {
  const { port, seen } = await recordingServer(t, options);
  const { text, closed } = await rawRequest(port, bytes, { idleMs: 2_000, ...raw });
  assert.ok(text.startsWith(`${statusLine}\r\n`), `expected ${statusLine}, got ${JSON.stringify(text.slice(0, 120))}`);
  const response = onlyResponse(text);
  assert.equal(response.header('connection')?.toLowerCase(), 'close');
  assert.equal(closed, true, 'the server closes the connection');
  assert.deepEqual(seen, [], 'the handler never runs');
}

const crlf = (...lines: string[]): string => lines.join('\r\n');

test('rejects the CL.TE smuggling payload with 400 and closes without running the handler', async (t) => {
  const clte =
    'POST /search HTTP/1.1\r\nHost: vulnerable-website.com\r\nContent-Type: application/x-www-form-urlencoded\r\n' +
    'Content-Length: 49\r\nTransfer-Encoding: chunked\r\n\r\ne\r\nq=smuggling&x=\r\n0\r\n\r\nGET /404 HTTP/1.1\r\nFoo: x';
  await assertRejected(t, clte, 'HTTP/1.1 400 Bad Request');
});

test('rejects the TE.CL smuggling payload with 400 and closes without running the handler', async (t) => {
  const tecl =
    'POST /search HTTP/1.1\r\nHost: vulnerable-website.com\r\nContent-Type: application/x-www-form-urlencoded\r\n' +
    'Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n7c\r\nGET /404 HTTP/1.1\r\nHost: vulnerable-website.com\r\n' +
    'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 144\r\n\r\nx=\r\n0\r\n';
  await assertRejected(t, tecl, 'HTTP/1.1 400 Bad Request');
});

test('rejects two equal Content-Length fields with 400', async (t) => {
  await assertRejected(
    t,
    crlf('POST / HTTP/1.1', 'Host: x', 'Content-Length: 3', 'Content-Length: 3', '', 'abc'),
    'HTTP/1.1 400 Bad Request',
  );
});

test('rejects two different Content-Length fields with 400', async (t) => {
  await assertRejected(
    t,
    crlf('POST / HTTP/1.1', 'Host: x', 'Content-Length: 3', 'Content-Length: 4', '', 'abcd'),
    'HTTP/1.1 400 Bad Request',
  );
});

test('rejects a non-numeric Content-Length with 400', async (t) => {
  await assertRejected(
    t,
    crlf('POST / HTTP/1.1', 'Host: x', 'Content-Length: 3x', '', 'abc'),
    'HTTP/1.1 400 Bad Request',
  );
});

test('rejects a negative Content-Length with 400', async (t) => {
  await assertRejected(t, crlf('POST / HTTP/1.1', 'Host: x', 'Content-Length: -1', '', ''), 'HTTP/1.1 400 Bad Request');
});

test('rejects a malformed chunk size with 400', async (t) => {
  await assertRejected(
    t,
    crlf('POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked', '', 'zz', 'abc', '0', '', ''),
    'HTTP/1.1 400 Bad Request',
  );
});

test('rejects two Host fields with 400', async (t) => {
  await assertRejected(t, crlf('GET / HTTP/1.1', 'Host: a', 'Host: b', '', ''), 'HTTP/1.1 400 Bad Request');
});

test('rejects an HTTP/1.1 request without Host with 400', async (t) => {
  await assertRejected(t, crlf('GET / HTTP/1.1', '', ''), 'HTTP/1.1 400 Bad Request');
});

test('accepts an HTTP/1.0 request without Host', async (t) => {
  const { port, seen } = await recordingServer(t);
  const { text, closed } = await rawRequest(port, crlf('GET /old HTTP/1.0', '', ''), { idleMs: 2_000 });
  assert.equal(onlyResponse(text).status, 200);
  assert.equal(closed, true);
  assert.deepEqual(seen, ['GET /old']);
});

test('rejects an asterisk-form GET with 400', async (t) => {
  await assertRejected(t, crlf('GET * HTTP/1.1', 'Host: x', '', ''), 'HTTP/1.1 400 Bad Request');
});

test('passes an asterisk-form OPTIONS to the handler', async (t) => {
  const { port, seen } = await recordingServer(t);
  const { text } = await rawRequest(port, crlf('OPTIONS * HTTP/1.1', 'Host: x', 'Connection: close', '', ''));
  assert.equal(onlyResponse(text).status, 200);
  assert.deepEqual(seen, ['OPTIONS *']);
});

test('answers an HTTP/2.0 request line with 505', async (t) => {
  await assertRejected(t, crlf('GET / HTTP/2.0', 'Host: x', '', ''), 'HTTP/1.1 505 HTTP Version Not Supported');
});

test('answers an HTTP/0.9 request line with 505', async (t) => {
  await assertRejected(t, crlf('GET / HTTP/0.9', 'Host: x', '', ''), 'HTTP/1.1 505 HTTP Version Not Supported');
});

test('rejects a percent sign not followed by two hex digits with 400', async (t) => {
  await assertRejected(t, crlf('GET /a%zz HTTP/1.1', 'Host: x', '', ''), 'HTTP/1.1 400 Bad Request');
});

test('rejects a trailing lone percent sign with 400', async (t) => {
  await assertRejected(t, crlf('GET /a% HTTP/1.1', 'Host: x', '', ''), 'HTTP/1.1 400 Bad Request');
});

test('rejects percent-encoding of invalid UTF-8 with 400', async (t) => {
  await assertRejected(t, crlf('GET /a%e0%a4 HTTP/1.1', 'Host: x', '', ''), 'HTTP/1.1 400 Bad Request');
});

test('rejects a NUL byte in the request target with 400', async (t) => {
  await assertRejected(t, crlf('GET /a\0b HTTP/1.1', 'Host: x', '', ''), 'HTTP/1.1 400 Bad Request');
});

test('rejects raw non-ASCII bytes in the request target with 400', async (t) => {
  await assertRejected(t, Buffer.from(crlf('GET /é HTTP/1.1', 'Host: x', '', '')), 'HTTP/1.1 400 Bad Request');
});

test('answers 413 without running the handler when Content-Length is one byte over maxBodyBytes', async (t) => {
  await assertRejected(
    t,
    crlf('POST / HTTP/1.1', 'Host: x', 'Content-Length: 11', '', '01234567890'),
    'HTTP/1.1 413 Payload Too Large',
    { maxBodyBytes: 10 },
  );
});

test('answers 413 by Content-Length before the body is sent', async (t) => {
  await assertRejected(
    t,
    crlf('POST / HTTP/1.1', 'Host: x', 'Content-Length: 1000000', '', ''),
    'HTTP/1.1 413 Payload Too Large',
    { maxBodyBytes: 10 },
  );
});

test('accepts a body of exactly maxBodyBytes by Content-Length', async (t) => {
  const { port, seen, bodies } = await recordingServer(t, { maxBodyBytes: 10 });
  const { text } = await rawRequest(
    port,
    crlf('POST / HTTP/1.1', 'Host: x', 'Content-Length: 10', 'Connection: close', '', '0123456789'),
  );
  const response = onlyResponse(text);
  assert.equal(response.status, 200);
  assert.equal(response.body, 'got 10');
  assert.deepEqual(seen, ['POST /']);
  assert.equal(bodies[0]?.toString(), '0123456789');
});

test('answers 413 without running the handler when chunks add up to one byte over maxBodyBytes', async (t) => {
  await assertRejected(
    t,
    crlf('POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked', '', '5', '01234', '6', '567890', '0', '', ''),
    'HTTP/1.1 413 Payload Too Large',
    { maxBodyBytes: 10 },
  );
});

test('accepts chunks adding up to exactly maxBodyBytes', async (t) => {
  const { port, bodies } = await recordingServer(t, { maxBodyBytes: 10 });
  const { text } = await rawRequest(
    port,
    crlf(
      'POST / HTTP/1.1',
      'Host: x',
      'Transfer-Encoding: chunked',
      'Connection: close',
      '',
      '5',
      '01234',
      '5',
      '56789',
      '0',
      '',
      '',
    ),
  );
  assert.equal(onlyResponse(text).status, 200);
  assert.equal(bodies[0]?.toString(), '0123456789');
});

test('answers 413 for any body when maxBodyBytes is 0', async (t) => {
  await assertRejected(
    t,
    crlf('POST / HTTP/1.1', 'Host: x', 'Content-Length: 1', '', 'a'),
    'HTTP/1.1 413 Payload Too Large',
    { maxBodyBytes: 0 },
  );
});

test('answers 414 when the request target is one byte over maxUriBytes', async (t) => {
  await assertRejected(t, crlf(`GET /${'a'.repeat(50)} HTTP/1.1`, 'Host: x', '', ''), 'HTTP/1.1 414 URI Too Long', {
    maxUriBytes: 50,
  });
});

test('accepts a request target of exactly maxUriBytes', async (t) => {
  const { port, seen } = await recordingServer(t, { maxUriBytes: 50 });
  const uri = `/${'a'.repeat(49)}`;
  const { text } = await rawRequest(port, crlf(`GET ${uri} HTTP/1.1`, 'Host: x', 'Connection: close', '', ''));
  assert.equal(onlyResponse(text).status, 200);
  assert.deepEqual(seen, [`GET ${uri}`]);
});

test('answers 431 when the header block exceeds maxHeaderBytes', async (t) => {
  await assertRejected(
    t,
    crlf('GET / HTTP/1.1', 'Host: x', `X-Big: ${'a'.repeat(2_000)}`, '', ''),
    'HTTP/1.1 431 Request Header Fields Too Large',
    { maxHeaderBytes: 1_024 },
  );
});

test('answers 431 when many small fields together exceed maxHeaderBytes', async (t) => {
  const fields = Array.from({ length: 100 }, (_, i) => `X-Field-${i}: value`);
  await assertRejected(
    t,
    crlf('GET / HTTP/1.1', 'Host: x', ...fields, '', ''),
    'HTTP/1.1 431 Request Header Fields Too Large',
    { maxHeaderBytes: 1_024 },
  );
});

test('accepts a header block under maxHeaderBytes', async (t) => {
  const { port, seen } = await recordingServer(t, { maxHeaderBytes: 1_024 });
  const { text } = await rawRequest(
    port,
    crlf('GET / HTTP/1.1', 'Host: x', `X-Big: ${'a'.repeat(800)}`, 'Connection: close', '', ''),
  );
  assert.equal(onlyResponse(text).status, 200);
  assert.equal(seen.length, 1);
});

test('answers 408 when the head does not arrive within headersTimeoutMs', async (t) => {
  const started = Date.now();
  await assertRejected(
    t,
    'GET / HTTP/1.1\r\nHost: x\r\n',
    'HTTP/1.1 408 Request Timeout',
    { headersTimeoutMs: 500 },
    {
      idleMs: 4_000,
      timeoutMs: 4_000,
    },
  );
  assert.ok(Date.now() - started >= 400, 'not before the timeout');
});

test('answers 408 when the body does not arrive within requestTimeoutMs', async (t) => {
  await assertRejected(
    t,
    crlf('POST / HTTP/1.1', 'Host: x', 'Content-Length: 10', '', 'abc'),
    'HTTP/1.1 408 Request Timeout',
    { headersTimeoutMs: 300, requestTimeoutMs: 600 },
    { idleMs: 4_000, timeoutMs: 4_000 },
  );
});

test('answers 501 to an unknown but well-formed method', async (t) => {
  await assertRejected(t, crlf('FOO / HTTP/1.1', 'Host: x', '', ''), 'HTTP/1.1 501 Not Implemented');
});

test('answers 501 to CONNECT: the server is not a proxy (Node alone would close the socket without a word)', async (t) => {
  await assertRejected(
    t,
    crlf('CONNECT example.com:443 HTTP/1.1', 'Host: example.com:443', '', ''),
    'HTTP/1.1 501 Not Implemented',
  );
});

test('answers 400 to binary garbage', async (t) => {
  await assertRejected(
    t,
    Buffer.from([0x00, 0xff, 0x13, 0x37, 0x80, 0x0d, 0x0a, 0x0d, 0x0a]),
    'HTTP/1.1 400 Bad Request',
  );
});

test('answers 400 to a TLS ClientHello sent in clear', async (t) => {
  const hello = Buffer.from('16030100a5010000a10303' + '00'.repeat(32) + '0d0a0d0a', 'hex');
  await assertRejected(t, hello, 'HTTP/1.1 400 Bad Request');
});

test('answers 501 to Transfer-Encoding: gzip, chunked', async (t) => {
  await assertRejected(
    t,
    crlf('POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding: gzip, chunked', '', '0', '', ''),
    'HTTP/1.1 501 Not Implemented',
  );
});

test('answers 400 to a request with bare LF line endings', async (t) => {
  await assertRejected(t, 'GET / HTTP/1.1\nHost: x\n\n', 'HTTP/1.1 400 Bad Request');
});

test('answers 400 to a single bare LF ending a header line', async (t) => {
  await assertRejected(t, 'GET / HTTP/1.1\r\nHost: x\n\r\n', 'HTTP/1.1 400 Bad Request');
});

test('answers 400 to a bare CR ending a header line', async (t) => {
  await assertRejected(t, 'GET / HTTP/1.1\r\nHost: x\rX-A: b\r\n\r\n', 'HTTP/1.1 400 Bad Request');
});

test('answers 400 to an obsolete folded header line', async (t) => {
  await assertRejected(t, crlf('GET / HTTP/1.1', 'Host: x', 'X-A: a', ' b', '', ''), 'HTTP/1.1 400 Bad Request');
});

test('answers 400 to whitespace between a field name and its colon', async (t) => {
  await assertRejected(t, crlf('GET / HTTP/1.1', 'Host : x', '', ''), 'HTTP/1.1 400 Bad Request');
});

test('keeps serving other connections after rejecting one', async (t) => {
  const { port, seen } = await recordingServer(t);
  const bad = await rawRequest(port, Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x0d, 0x0a, 0x0d, 0x0a]), { idleMs: 2_000 });
  assert.equal(onlyResponse(bad.text).status, 400);
  const good = await rawRequest(port, crlf('GET /after HTTP/1.1', 'Host: x', 'Connection: close', '', ''));
  assert.equal(onlyResponse(good.text).status, 200);
  assert.deepEqual(seen, ['GET /after']);
});
