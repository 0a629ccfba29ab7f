import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import fc from 'fast-check';
import { Router } from '@mummyx/core';
import { collectLogs, rawRequest, start, type LogLine, type Started } from './helpers.js';

const seed = Number(process.env.FC_SEED ?? 20261126);

const templates = [
  'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /items/42?q=a+b&q=c HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n',
  'POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello',
  'POST /items HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
  'HEAD /items/1 HTTP/1.1\r\nHost: x\r\n\r\n',
  'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET http://x/abs%20path HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /old HTTP/1.0\r\n\r\n',
  'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n',
  'PUT /items/7 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc',
];

type Mutation =
  | { kind: 'flip'; at: number; byte: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'duplicate'; at: number; length: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
);

function mutate(input: Buffer, mutations: Mutation[]): Buffer {
  let bytes = input;
  for (const m of mutations) {
    const at = bytes.length === 0 ? 0 : m.at % (bytes.length + 1);
    switch (m.kind) {
      case 'flip':
        if (at < bytes.length) {
          bytes = Buffer.from(bytes);
          bytes[at] = m.byte;
        }
        break;
      case 'insert':
        bytes = Buffer.concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at)]);
        break;
      case 'delete':
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + m.length)]);
        break;
      case 'truncate':
        bytes = bytes.subarray(0, at);
        break;
      case 'duplicate':
        bytes = Buffer.concat([bytes.subarray(0, at + m.length), bytes.subarray(at)]);
        break;
    }
  }
  return bytes;
}

const token = fc.oneof(
  { arbitrary: fc.constantFrom('GET', 'POST', 'HEAD', 'PUT', 'OPTIONS', 'DELETE'), weight: 4 },
  fc.constantFrom('FOO', 'get', 'CONNECT', '', 'G\0T'),
);
const target = fc.oneof(
  fc.constantFrom('/', '*', '/items/1', '/items', '/%', '/%zz', '/a%20b?x=1', 'http://x/p', 'x:443', '//', ''),
  { arbitrary: fc.stringMatching(/^[\w%.~\-/?=&+:@]{0,80}$/).map((s) => `/${s}`), weight: 3 },
  fc.string({ maxLength: 30 }).map((s) => `/${s}`),
);
const version = fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/1.2', 'HTTP/1', 'http/1.1', '');
const headerName = fc.constantFrom(
  'Host',
  'Content-Length',
  'Transfer-Encoding',
  'Connection',
  'Expect',
  'Accept-Encoding',
  'X-A',
  'Bad Name',
  '',
);
const headerValue = fc.oneof(
  fc.constantFrom('x', '0', '5', '64', '65', '-1', 'chunked', 'gzip, chunked', 'close', 'keep-alive', '100-continue'),
  fc.string({ maxLength: 20 }),
  fc.nat({ max: 700 }).map((n) => 'v'.repeat(n)),
);
const lineEnd = fc.oneof(
  { arbitrary: fc.constant('\r\n'), weight: 8 },
  { arbitrary: fc.constantFrom('\n', '\r', '\r\r\n'), weight: 1 },
);

const structured = fc
  .record({
    method: token,
    target,
    version,
    withHost: fc.boolean(),
    headers: fc.array(fc.tuple(headerName, headerValue), { maxLength: 6 }),
    body: fc.string({ maxLength: 100 }),
    eol: lineEnd,
  })
  .map(({ method, target, version, withHost, headers, body, eol }) => {
    const fields = (withHost ? [['Host', 'x'], ...headers] : headers).map(([n, v]) => `${n}: ${v}${eol}`).join('');
    return Buffer.from(`${method} ${target} ${version}${eol}${fields}${eol}${body}`, 'latin1');
  });

/** Requests llhttp accepts, so the property also covers the handler path: random targets, fields and bodies. */
const wellFormedOne = fc
  .record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'HEAD', 'DELETE', 'OPTIONS'),
    target: fc.stringMatching(/^\/[\w%.~\-/?=&+:@]{0,80}$/),
    version: fc.constantFrom('HTTP/1.1', 'HTTP/1.0'),
    fields: fc.array(
      fc.oneof(
        fc.constantFrom(
          'Accept-Encoding: gzip',
          'Accept-Encoding: br;q=0.5, *',
          'Connection: keep-alive',
          'Accept: */*',
        ),
        fc.stringMatching(/^[ -~]{0,40}$/).map((value) => `X-Field: ${value.trim()}`),
      ),
      { maxLength: 4 },
    ),
    body: fc.uint8Array({ maxLength: 100 }),
    chunked: fc.boolean(),
  })
  .map(({ method, target, version, fields, body, chunked }) => {
    const framing =
      body.length === 0
        ? []
        : chunked && version === 'HTTP/1.1'
          ? ['Transfer-Encoding: chunked']
          : [`Content-Length: ${body.length}`];
    const head = [`${method} ${target} ${version}`, 'Host: x', ...fields, ...framing, '', ''].join('\r\n');
    const payload =
      body.length === 0 || framing[0] !== 'Transfer-Encoding: chunked'
        ? Buffer.from(body)
        : Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
    return Buffer.concat([Buffer.from(head, 'latin1'), payload]);
  });
const wellFormed = fc.array(wellFormedOne, { minLength: 1, maxLength: 3 }).map((requests) => Buffer.concat(requests));

const requestBytes = fc.oneof(
  wellFormed,
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  fc
    .tuple(fc.constantFrom(...templates), fc.array(mutation, { minLength: 1, maxLength: 3 }))
    .map(([template, mutations]) => mutate(Buffer.from(template, 'latin1'), mutations)),
  structured,
);

// Every status the server or this router can produce; a 500 would mean respond() or the server broke.
const expectedStatuses = new Set([100, 200, 400, 404, 405, 408, 413, 414, 417, 431, 501, 505]);

/** A router over the paths the generators use, behind deliberately small limits. */
async function fuzzServer(t: TestContext): Promise<Started & { logs: LogLine[] }> {
  const router = new Router();
  router.get('/**', (request) => request.respond(200, {}, `path ${request.path}`));
  router.post('/items', (request) => request.respond(200, {}, `body ${request.body.length}`));
  router.put('/items/:id', (request) => request.respond(200, {}, `put ${request.pathParams.id}`));
  const logs = collectLogs();
  const started = await start(t, router, {
    maxBodyBytes: 64,
    maxUriBytes: 64,
    maxHeaderBytes: 512,
    headersTimeoutMs: 2_000,
    logHandler: logs.logHandler,
    logLevel: 'error',
  });
  return { ...started, logs: logs.lines };
}

const runOptions = { seed, numRuns: 150, interruptAfterTimeLimit: 60_000, markInterruptAsFailure: true };

test('never crashes on random request bytes and answers each request with a status line before closing', async (t) => {
  const { url, port, logs } = await fuzzServer(t);

  await fc.assert(
    fc.asyncProperty(requestBytes, async (bytes) => {
      const { text, closed } = await rawRequest(port, bytes, { halfClose: true, timeoutMs: 4_000 });
      assert.equal(closed, true, 'the server closes the connection after the client half-closes');
      // Silence is right only when no request started: nothing sent, or only the empty lines a server
      // ignores before a request line (RFC 9112 §2.2). Anything else is owed a status line.
      if (/^[\r\n]*$/.test(bytes.toString('latin1'))) {
        assert.equal(text, '', 'nothing is answered when no request was sent');
        return;
      }
      assert.ok(/^HTTP\/1\.1 \d{3} [^\r\n]*\r\n/.test(text), `starts with a status line: ${JSON.stringify(text)}`);
      for (const line of text.matchAll(/HTTP\/1\.1 (\d{3}) [^\r\n]*\r\n/g)) {
        assert.ok(expectedStatuses.has(Number(line[1])), `unexpected status ${line[0]}`);
      }
    }),
    runOptions,
  );

  assert.deepEqual(logs, [], 'no handler errors were logged');
  const response = await fetch(`${url}/still/alive`);
  assert.equal(response.status, 200);
  assert.equal(await response.text(), 'path /still/alive');
});

test('leaves no request in flight and no connection open after random request bytes', async (t) => {
  const { server, port } = await fuzzServer(t);
  await fc.assert(
    fc.asyncProperty(requestBytes, async (bytes) => {
      await rawRequest(port, bytes, { halfClose: true, timeoutMs: 4_000 });
      for (let i = 0; i < 20 && server.stats().requestsInFlight + server.stats().connections > 0; i++) {
        await delay(10);
      }
      assert.equal(server.stats().requestsInFlight, 0, 'requests in flight');
      assert.equal(server.stats().connections, 0, 'open connections');
    }),
    { ...runOptions, endOnFailure: true },
  );
});
