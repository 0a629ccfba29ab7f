// The opening handshake (RFC 6455 §4): 101 and its headers, sends made before the 101, origin
// checks (403), subprotocols, permessage-deflate, and the answers to upgrades that cannot or do
// not happen (400, 426, the route's own response).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createServer, MxError, Router } from '@mummyx/core';
import { httpGet, onlyResponse, rawRequest } from './helpers.js';
import {
  encodeFrame,
  listen,
  modes,
  Opcode,
  RawWebSocket,
  startApp,
  waitFor,
  WsClient,
} from './fixtures/websocket-kit.js';

/** An upgrade request for `path` with these header fields, answered and closed by the server. */
async function refusedUpgrade(port: number, path: string, fields: Record<string, string | null> = {}) {
  const all: Record<string, string | null> = {
    Host: `127.0.0.1:${port}`,
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version': '13',
    ...fields,
  };
  const head = Object.entries(all)
    .filter((entry): entry is [string, string] => entry[1] !== null)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  const answer = await rawRequest(port, `GET ${path} HTTP/1.1\r\n${head}\r\n`, { idleMs: 2_000 });
  assert.equal(answer.closed, true, 'the server closes the connection after refusing an upgrade');
  return onlyResponse(answer.text);
}

for (const mode of modes) {
  test(`${mode}: answers 101 with Upgrade, Connection and the Sec-WebSocket-Accept of the key`, async (t) => {
    const { port, track } = await startApp(t, mode);
    const client = await RawWebSocket.open(port, '/hello');
    track(client);
    assert.equal(client.response.status, 101);
    assert.match(client.response.statusLine, /^HTTP\/1\.1 101 Switching Protocols$/);
    assert.equal(client.response.headers['upgrade']?.toLowerCase(), 'websocket');
    assert.equal(client.response.headers['connection']?.toLowerCase(), 'upgrade');
    assert.equal(client.response.headers['sec-websocket-protocol'], undefined, 'no subprotocol was asked for');
    assert.equal(client.response.headers['sec-websocket-extensions'], undefined, 'permessage-deflate is off');
    const frame = await client.nextFrame();
    assert.deepEqual(
      { fin: frame.fin, rsv: frame.rsv, opcode: frame.opcode, masked: frame.masked },
      { fin: true, rsv: 0, opcode: Opcode.Text, masked: false },
    );
    assert.equal(frame.payload.toString(), 'Hello world from WebSocket!');

    // The example of RFC 6455 §1.3.
    const example = await RawWebSocket.open(port, '/echo', {
      headers: { 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' },
    });
    track(example);
    assert.equal(example.response.headers['sec-websocket-accept'], 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  test(`${mode}: a message sent by the upgrading handler is the first message a ws client receives`, async (t) => {
    const { wsUrl, track } = await startApp(t, mode);
    const client = await WsClient.open(`${wsUrl}/hello`);
    track(client);
    assert.equal(await client.nextText(), 'Hello world from WebSocket!');
    client.send('and back');
    assert.equal(await client.nextText(), 'and back');
  });

  test(`${mode}: sends and a close made inside the upgrading handler go out in order after the 101`, async (t) => {
    const { port, track } = await startApp(t, mode);
    const client = await RawWebSocket.open(port, '/hello-bye');
    track(client);
    assert.equal(client.response.status, 101);
    const one = await client.nextFrame();
    assert.deepEqual([one.opcode, one.payload.toString()], [Opcode.Text, 'one']);
    const two = await client.nextFrame();
    assert.deepEqual([two.opcode, two.payload.toString()], [Opcode.Binary, 'two']);
    const close = await client.nextClose();
    assert.deepEqual([close.code, close.reason, close.skipped.length], [4000, 'done', 0]);
    client.sendClose(4000, 'done');
    assert.equal(await client.waitClosed(), true, 'the server ends TCP once the closing handshake is complete');
  });

  test(`${mode}: frames sent in the same packet as the upgrade request are not lost`, async (t) => {
    const { port, track } = await startApp(t, mode);
    const early = Buffer.concat([
      encodeFrame({ opcode: Opcode.Text, payload: 'early' }),
      encodeFrame({ opcode: Opcode.Ping, payload: 'early ping' }),
      encodeFrame({ opcode: Opcode.Text, payload: 'second' }),
    ]);
    const client = await RawWebSocket.open(port, '/echo', { trailing: early });
    track(client);
    assert.equal(client.response.status, 101);
    const pong = await client.nextFrame();
    assert.deepEqual([pong.opcode, pong.payload.toString()], [Opcode.Pong, 'early ping']);
    assert.equal(await client.nextText(), 'early');
    assert.equal(await client.nextText(), 'second');
  });

  test(`${mode}: allowedOrigins answers 403 to a foreign or missing Origin and 101 to an allowed one`, async (t) => {
    const { port, wsUrl, server, track } = await startApp(t, mode, {
      websocket: { allowedOrigins: ['https://app.example', 'http://localhost:3000'] },
    });
    const foreign = await refusedUpgrade(port, '/echo', { Origin: 'https://evil.example' });
    assert.equal(foreign.status, 403);
    assert.match(foreign.body, /https:\/\/evil\.example/);
    assert.equal(foreign.header('connection'), 'close');
    assert.equal(foreign.header('sec-websocket-accept'), undefined);
    // Close relatives of an allowed origin are foreign too: the match is exact.
    for (const origin of ['https://app.example:443', 'http://app.example', 'https://app.example.evil.example']) {
      assert.equal((await refusedUpgrade(port, '/echo', { Origin: origin })).status, 403, origin);
    }
    assert.equal((await refusedUpgrade(port, '/echo')).status, 403, 'no Origin at all');
    await assert.rejects(WsClient.open(`${wsUrl}/echo`, { origin: 'https://evil.example' }), /unexpected response 403/);

    const allowed = await RawWebSocket.open(port, '/echo', { headers: { Origin: 'http://localhost:3000' } });
    track(allowed);
    assert.equal(allowed.response.status, 101);
    const client = await WsClient.open(`${wsUrl}/echo`, { origin: 'https://app.example' });
    track(client);
    client.send('allowed');
    assert.equal(await client.nextText(), 'allowed');
    await waitFor('two websockets counted', () => server.stats().websockets === 2);
  });

  test(`${mode}: verifyOrigin runs before the 101 with the Origin and the request`, async (t) => {
    const seen: Array<[string | undefined, string | undefined]> = [];
    const { port, wsUrl, track } = await startApp(t, mode, {
      websocket: {
        verifyOrigin: (origin, request) => {
          seen.push([origin, request.url]);
          return origin === 'https://ok.example' && request.headers['x-token'] === 'secret';
        },
      },
    });
    assert.equal((await refusedUpgrade(port, '/echo?a=1', { Origin: 'https://ok.example' })).status, 403);
    assert.equal(
      (await refusedUpgrade(port, '/echo', { Origin: 'https://no.example', 'X-Token': 'secret' })).status,
      403,
    );
    const client = await WsClient.open(`${wsUrl}/echo?b=2`, {
      origin: 'https://ok.example',
      headers: { 'X-Token': 'secret' },
    });
    track(client);
    client.send('verified');
    assert.equal(await client.nextText(), 'verified');
    assert.deepEqual(seen, [
      ['https://ok.example', '/echo?a=1'],
      ['https://no.example', '/echo'],
      ['https://ok.example', '/echo?b=2'],
    ]);
  });

  test(`${mode}: handleProtocols selects the subprotocol echoed in Sec-WebSocket-Protocol`, async (t) => {
    const offered: string[][] = [];
    const { port, wsUrl, track } = await startApp(t, mode, {
      websocket: {
        handleProtocols: (protocols) => {
          offered.push([...protocols]);
          return protocols.has('chat.v2') ? 'chat.v2' : false;
        },
      },
    });
    const raw = await RawWebSocket.open(port, '/echo', { headers: { 'Sec-WebSocket-Protocol': 'chat.v1, chat.v2' } });
    track(raw);
    assert.equal(raw.response.status, 101);
    assert.equal(raw.response.headers['sec-websocket-protocol'], 'chat.v2');

    const none = await RawWebSocket.open(port, '/echo', { headers: { 'Sec-WebSocket-Protocol': 'chat.v1' } });
    track(none);
    assert.equal(none.response.status, 101);
    assert.equal(none.response.headers['sec-websocket-protocol'], undefined, 'false selects no subprotocol');

    const client = await WsClient.open(`${wsUrl}/echo`, { protocols: ['chat.v1', 'chat.v2', 'chat.v3'] });
    track(client);
    assert.equal(client.ws.protocol, 'chat.v2');
    client.send('with a subprotocol');
    assert.equal(await client.nextText(), 'with a subprotocol');
    assert.deepEqual(offered, [['chat.v1', 'chat.v2'], ['chat.v1'], ['chat.v1', 'chat.v2', 'chat.v3']]);
  });

  test(`${mode}: answers 426 with Upgrade: websocket when a request without Upgrade reaches upgradeToWebSocket`, async (t) => {
    const { port, server } = await startApp(t, mode);
    const plain = await httpGet(`http://127.0.0.1:${port}/echo`);
    assert.equal(plain.status, 426);
    assert.equal(plain.headers['upgrade'], 'websocket');
    assert.match(plain.body.toString(), /Upgrade Required/);
    // An upgrade to something else is no WebSocket upgrade either.
    const h2c = await refusedUpgrade(port, '/echo', {
      Upgrade: 'h2c',
      'Sec-WebSocket-Key': null,
      'Sec-WebSocket-Version': null,
    });
    assert.equal(h2c.status, 426);
    assert.equal(h2c.header('upgrade'), 'websocket');
    // The same route upgrades a real upgrade request.
    assert.equal((await httpGet(`http://127.0.0.1:${port}/maybe`)).body.toString(), 'not an upgrade');
    assert.equal(server.stats().websockets, 0);
  });

  test(`${mode}: answers 400 to a bad Sec-WebSocket-Key or Sec-WebSocket-Version`, async (t) => {
    const { port } = await startApp(t, mode);
    for (const [what, fields] of [
      ['a key that is not 16 bytes of base64', { 'Sec-WebSocket-Key': 'not-a-valid-key' }],
      ['a 15-byte key', { 'Sec-WebSocket-Key': Buffer.alloc(15).toString('base64') }],
      ['no key', { 'Sec-WebSocket-Key': null }],
      ['version 12', { 'Sec-WebSocket-Version': '12' }],
      ['no version', { 'Sec-WebSocket-Version': null }],
    ] as const) {
      const answer = await refusedUpgrade(port, '/echo', fields);
      assert.equal(answer.status, 400, what);
      assert.equal(answer.header('sec-websocket-accept'), undefined, what);
    }
  });

  test(`${mode}: a refused handshake (400) leaves no WebSocket counted in stats()`, {}, async (t) => {
    const { port, server } = await startApp(t, mode);
    assert.equal((await refusedUpgrade(port, '/echo', { 'Sec-WebSocket-Key': 'bad' })).status, 400);
    await waitFor('no websockets counted', () => server.stats().websockets === 0, 2_000);
  });

  test(`${mode}: a route that does not upgrade answers an upgrade request with its own response`, async (t) => {
    const { port, server } = await startApp(t, mode);
    const plain = await refusedUpgrade(port, '/plain');
    assert.equal(plain.status, 200);
    assert.equal(plain.body, 'a plain answer');
    assert.equal(plain.header('x-route'), 'plain');
    assert.equal(plain.header('content-length'), '14');
    assert.equal(plain.header('connection'), 'close');
    const missing = await refusedUpgrade(port, '/no/such/route');
    assert.equal(missing.status, 404);
    assert.equal(server.stats().websockets, 0);
  });

  test(`${mode}: permessage-deflate is off by default and negotiated when enabled`, async (t) => {
    const off = await startApp(t, mode);
    const plain = await WsClient.open(`${off.wsUrl}/echo`);
    off.track(plain);
    assert.equal(plain.ws.extensions, '', 'the ws client offered permessage-deflate and was refused');

    const on = await startApp(t, mode, { websocket: { perMessageDeflate: true } });
    const compressed = await WsClient.open(`${on.wsUrl}/echo`);
    on.track(compressed);
    assert.match(compressed.ws.extensions, /^permessage-deflate/);
    const text = 'compressible '.repeat(2_000);
    compressed.send(text);
    assert.equal(await compressed.nextText(), text);
  });
}

test('inline: upgradeToWebSocket throws an MxError with the status it answered (426, 403)', async (t) => {
  const thrown: unknown[] = [];
  const router = new Router();
  router.get('/ws', (request) => {
    try {
      request.upgradeToWebSocket();
    } catch (error) {
      thrown.push(error);
      throw error;
    }
  });
  const server = createServer(router, {
    logLevel: 'error',
    logHandler: () => {},
    websocket: { allowedOrigins: ['https://app.example'] },
  });
  const { port } = await listen(t, server);
  assert.equal((await httpGet(`http://127.0.0.1:${port}/ws`)).status, 426);
  assert.equal((await refusedUpgrade(port, '/ws', { Origin: 'https://evil.example' })).status, 403);
  assert.equal(thrown.length, 2);
  assert.ok(thrown[0] instanceof MxError);
  assert.deepEqual([thrown[0].code, thrown[0].status], ['MX_ERR_UPGRADE_REQUIRED', 426]);
  assert.ok(thrown[1] instanceof MxError);
  assert.deepEqual([thrown[1].code, thrown[1].status], ['MX_ERR_ORIGIN_FORBIDDEN', 403]);
});

test(
  'inline: upgradeToWebSocket throws an MxError with status 400 when the handshake headers are bad',
  {},
  async (t) => {
    const thrown: unknown[] = [];
    const router = new Router();
    router.get('/ws', (request) => {
      try {
        request.upgradeToWebSocket();
      } catch (error) {
        thrown.push(error);
      }
    });
    const server = createServer(router, { logLevel: 'error', logHandler: () => {} });
    const { port } = await listen(t, server);
    assert.equal((await refusedUpgrade(port, '/ws', { 'Sec-WebSocket-Key': 'bad' })).status, 400);
    assert.equal(thrown.length, 1);
    assert.ok(thrown[0] instanceof MxError);
    assert.deepEqual([thrown[0].code, thrown[0].status], ['MX_ERR_UPGRADE_INVALID', 400]);
  },
);
