// RFC 6455 framing as the server enforces it, one test per wire case, each with raw frames over
// node:net (and, where a conforming client can express it, with the ws client): control frames,
// the closing handshake, close codes, UTF-8, reserved bits and opcodes, size and fragment limits,
// and the ping/pong heartbeat.
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  closePayload,
  encodeFrame,
  modes,
  Opcode,
  RawWebSocket,
  startApp,
  WsClient,
  type FrameSpec,
  type Started,
} from './fixtures/websocket-kit.js';

async function openRaw(started: Started, path = '/echo', autoPong = false): Promise<RawWebSocket> {
  const client = await RawWebSocket.open(started.port, path, { autoPong });
  started.track(client);
  assert.equal(client.response.status, 101);
  return client;
}

async function openWs(started: Started, path = '/echo'): Promise<WsClient> {
  const client = await WsClient.open(`${started.wsUrl}${path}`);
  started.track(client);
  return client;
}

/** The socket under a ws client, to put bytes on the wire that ws itself would never send. */
function socketOf(client: WsClient): Socket {
  return (client.ws as unknown as { _socket: Socket })._socket;
}

/**
 * Sends `frames` and expects the server to answer with a close frame carrying `code` (and no
 * data frame first), then to end the TCP connection.
 */
async function expectClose(client: RawWebSocket, frames: FrameSpec[], code: number, what: string): Promise<void> {
  for (const frame of frames) client.send(frame);
  const close = await client.nextClose();
  assert.equal(close.code, code, `${what}: close code`);
  assert.deepEqual(
    close.skipped.map((f) => f.opcode),
    [],
    `${what}: nothing but the close frame was sent`,
  );
  assert.equal(await client.waitClosed(), true, `${what}: the server ends the TCP connection`);
}

/** Cases where a frame, or a sequence of frames, is a protocol error, and the code the server must send. */
const badFrames: Array<{ name: string; frames: FrameSpec[]; code: number }> = [
  { name: 'an unmasked client frame', frames: [{ opcode: Opcode.Text, payload: 'hi', mask: false }], code: 1002 },
  { name: 'RSV1 set without an extension', frames: [{ opcode: Opcode.Text, payload: 'hi', rsv: 0b100 }], code: 1002 },
  { name: 'RSV2 set', frames: [{ opcode: Opcode.Text, payload: 'hi', rsv: 0b010 }], code: 1002 },
  { name: 'RSV3 set', frames: [{ opcode: Opcode.Binary, payload: 'hi', rsv: 0b001 }], code: 1002 },
  ...[0x3, 0x4, 0x5, 0x6, 0x7].map((opcode) => ({
    name: `reserved data opcode 0x${opcode.toString(16)}`,
    frames: [{ opcode, payload: 'hi' }],
    code: 1002,
  })),
  ...[0xb, 0xc, 0xd, 0xe, 0xf].map((opcode) => ({
    name: `reserved control opcode 0x${opcode.toString(16)}`,
    frames: [{ opcode, payload: 'hi' }],
    code: 1002,
  })),
  { name: 'a fragmented ping (FIN clear)', frames: [{ opcode: Opcode.Ping, payload: 'p', fin: false }], code: 1002 },
  { name: 'a fragmented close (FIN clear)', frames: [{ opcode: Opcode.Close, fin: false }], code: 1002 },
  { name: 'a ping of 126 bytes', frames: [{ opcode: Opcode.Ping, payload: Buffer.alloc(126, 0x61) }], code: 1002 },
  { name: 'a pong of 126 bytes', frames: [{ opcode: Opcode.Pong, payload: Buffer.alloc(126, 0x61) }], code: 1002 },
  {
    name: 'a close frame of 126 bytes',
    frames: [{ opcode: Opcode.Close, payload: Buffer.alloc(126, 0x61), lengthForm: 16 }],
    code: 1002,
  },
  {
    name: 'a continuation frame with no message started',
    frames: [{ opcode: Opcode.Continuation, payload: 'x' }],
    code: 1002,
  },
  {
    name: 'a new text frame inside a fragmented message',
    frames: [
      { opcode: Opcode.Text, payload: 'part', fin: false },
      { opcode: Opcode.Text, payload: 'again' },
    ],
    code: 1002,
  },
  {
    name: 'a binary frame inside a fragmented text message',
    frames: [
      { opcode: Opcode.Text, payload: 'part', fin: false },
      { opcode: Opcode.Binary, payload: 'x', fin: true },
    ],
    code: 1002,
  },
  { name: 'a close payload of 1 byte', frames: [{ opcode: Opcode.Close, payload: Buffer.from([0x03]) }], code: 1002 },
  ...[0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535].map((closeCode) => ({
    name: `close code ${closeCode}`,
    frames: [{ opcode: Opcode.Close, payload: closePayload(closeCode) }],
    code: 1002,
  })),
  { name: 'text with a 0xff byte', frames: [{ opcode: Opcode.Text, payload: Buffer.from([0x61, 0xff]) }], code: 1007 },
  {
    name: 'text with an overlong encoding',
    frames: [{ opcode: Opcode.Text, payload: Buffer.from([0xc0, 0x80]) }],
    code: 1007,
  },
  {
    name: 'text with a UTF-16 surrogate',
    frames: [{ opcode: Opcode.Text, payload: Buffer.from([0xed, 0xa0, 0x80]) }],
    code: 1007,
  },
  {
    name: 'text ending inside a multi-byte sequence',
    frames: [{ opcode: Opcode.Text, payload: Buffer.from([0x61, 0xe2, 0x82]) }],
    code: 1007,
  },
  {
    name: 'fragmented text whose reassembled bytes are invalid UTF-8',
    frames: [
      { opcode: Opcode.Text, payload: Buffer.from([0x61, 0xe2]), fin: false },
      { opcode: Opcode.Continuation, payload: Buffer.from([0x28, 0xa1]) },
    ],
    code: 1007,
  },
  {
    name: 'a close reason that is invalid UTF-8',
    frames: [{ opcode: Opcode.Close, payload: closePayload(1000, Buffer.from([0xff, 0xfe])) }],
    code: 1007,
  },
];

for (const mode of modes) {
  for (const { name, frames, code } of badFrames) {
    test(`${mode}: ${name} closes with ${code} (raw frames)`, async (t) => {
      const started = await startApp(t, mode);
      const client = await openRaw(started);
      await expectClose(client, frames, code, name);
    });
  }
}

// A conforming ws client sends none of these; its socket carries them, and the client reports
// the code of the server's close frame.
for (const { name, frames, code } of badFrames) {
  test(`inline: ${name} closes a ws client with ${code}`, async (t) => {
    const started = await startApp(t, 'inline');
    const client = await openWs(started);
    socketOf(client).write(Buffer.concat(frames.map(encodeFrame)));
    const closed = await client.closed;
    assert.equal(closed.code, code);
  });
}

for (const mode of modes) {
  test(`${mode}: a ping is answered with a pong carrying its payload`, async (t) => {
    const started = await startApp(t, mode);
    const raw = await openRaw(started);
    for (const payload of ['', 'abc', 'x'.repeat(125)]) {
      raw.send({ opcode: Opcode.Ping, payload });
      const pong = await raw.nextFrame();
      assert.deepEqual([pong.opcode, pong.fin, pong.payload.toString()], [Opcode.Pong, true, payload]);
    }
    const binary = Buffer.from([0, 1, 2, 0xff]);
    raw.send({ opcode: Opcode.Ping, payload: binary });
    assert.deepEqual((await raw.nextFrame()).payload, binary);

    const ws = await openWs(started);
    const pong = new Promise<Buffer>((resolve) => ws.ws.once('pong', resolve));
    ws.ws.ping('from ws');
    assert.equal((await pong).toString(), 'from ws');
  });

  test(`${mode}: a ping between the fragments of a message is answered at once; the message stays whole`, async (t) => {
    const started = await startApp(t, mode);
    const raw = await openRaw(started);
    raw.send({ opcode: Opcode.Text, payload: 'Hel', fin: false });
    raw.send({ opcode: Opcode.Ping, payload: 'between' });
    const pong = await raw.nextFrame();
    assert.deepEqual([pong.opcode, pong.payload.toString()], [Opcode.Pong, 'between']);
    raw.send({ opcode: Opcode.Continuation, payload: 'lo ', fin: false });
    raw.send({ opcode: Opcode.Ping, payload: 'again' });
    raw.send({ opcode: Opcode.Continuation, payload: 'world' });
    const second = await raw.nextFrame();
    assert.deepEqual([second.opcode, second.payload.toString()], [Opcode.Pong, 'again']);
    assert.equal(await raw.nextText(), 'Hello world');
  });

  test(`${mode}: an unsolicited pong is ignored`, async (t) => {
    const started = await startApp(t, mode);
    const raw = await openRaw(started);
    raw.send({ opcode: Opcode.Pong, payload: 'unasked' });
    raw.send({ opcode: Opcode.Pong });
    raw.sendText('still here');
    assert.equal(await raw.nextText(), 'still here');

    const ws = await openWs(started);
    ws.ws.pong('unasked');
    ws.send('ws still here');
    assert.equal(await ws.nextText(), 'ws still here');
    assert.equal(ws.isClosed, false);
  });

  test(`${mode}: the close code and reason of the client are echoed, then the server ends TCP`, async (t) => {
    const started = await startApp(t, mode);
    const raw = await openRaw(started);
    raw.sendClose(4000, 'bye');
    const close = await raw.nextClose();
    assert.deepEqual([close.code, close.reason], [4000, 'bye']);
    assert.equal(await raw.waitClosed(), true);

    for (const code of [1000, 1001, 1003, 1007, 1011, 1014, 3000, 4999]) {
      const each = await openRaw(started);
      each.sendClose(code);
      assert.equal((await each.nextClose()).code, code);
    }

    const empty = await openRaw(started);
    empty.sendClose();
    const none = await empty.nextFrame();
    assert.deepEqual([none.opcode, none.payload.length], [Opcode.Close, 0], 'an empty close is answered empty');
    assert.equal(await empty.waitClosed(), true);

    const ws = await openWs(started);
    ws.ws.close(4001, 'ws bye');
    assert.deepEqual(await ws.closed, { code: 4001, reason: 'ws bye' });
  });

  test(`${mode}: a message of exactly maxMessageBytes passes; one byte more closes with 1009`, async (t) => {
    const started = await startApp(t, mode, { websocket: { maxMessageBytes: 1_024 } });
    const ws = await openWs(started);
    ws.send('a'.repeat(1_024));
    assert.equal(await ws.nextText(), 'a'.repeat(1_024));
    ws.send(Buffer.alloc(1_024, 7));
    assert.deepEqual((await ws.next()).data, Buffer.alloc(1_024, 7));
    ws.send('a'.repeat(1_025));
    assert.equal((await ws.closed).code, 1009);

    const raw = await openRaw(started);
    raw.send({ opcode: Opcode.Binary, payload: Buffer.alloc(1_025) });
    assert.equal((await raw.nextClose()).code, 1009);

    // The limit is on the whole message, not on each fragment.
    const fragmented = await openRaw(started);
    fragmented.send({ opcode: Opcode.Text, payload: 'b'.repeat(512), fin: false });
    fragmented.send({ opcode: Opcode.Continuation, payload: 'b'.repeat(512) });
    assert.equal(await fragmented.nextText(), 'b'.repeat(1_024));
    fragmented.send({ opcode: Opcode.Text, payload: 'c'.repeat(512), fin: false });
    fragmented.send({ opcode: Opcode.Continuation, payload: 'c'.repeat(513) });
    assert.equal((await fragmented.nextClose()).code, 1009);

    // A 64-bit length beyond what a message could ever be is refused before any payload.
    const huge = await openRaw(started);
    huge.write(Buffer.from([0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]));
    assert.equal((await huge.nextClose()).code, 1009);
  });

  test(`${mode}: with permessage-deflate, maxMessageBytes limits the inflated message`, async (t) => {
    const started = await startApp(t, mode, { websocket: { perMessageDeflate: true, maxMessageBytes: 10_000 } });
    const ws = await openWs(started);
    assert.match(ws.ws.extensions, /permessage-deflate/);
    ws.send('z'.repeat(10_000));
    assert.equal(await ws.nextText(), 'z'.repeat(10_000));
    // A few hundred bytes on the wire, 1 MB once inflated.
    ws.send('z'.repeat(1_000_000));
    assert.equal((await ws.closed).code, 1009);
  });

  test(`${mode}: the default maxMessageBytes is 64 KiB`, async (t) => {
    const started = await startApp(t, mode);
    const ws = await openWs(started);
    ws.send(Buffer.alloc(65_536, 1));
    assert.equal(((await ws.next()).data as Buffer).length, 65_536);
    ws.send(Buffer.alloc(65_537, 1));
    assert.equal((await ws.closed).code, 1009);
  });

  test(`${mode}: a message of maxFragments fragments passes; one fragment more is refused`, async (t) => {
    const started = await startApp(t, mode, { websocket: { maxFragments: 4 } });
    const raw = await openRaw(started);
    raw.send({ opcode: Opcode.Text, payload: 'a', fin: false });
    for (const part of ['b', 'c']) raw.send({ opcode: Opcode.Continuation, payload: part, fin: false });
    raw.send({ opcode: Opcode.Continuation, payload: 'd' });
    assert.equal(await raw.nextText(), 'abcd');
  });

  test(`${mode}: a message over maxFragments is never delivered and ends the connection with a close frame`, async (t) => {
    const started = await startApp(t, mode, { websocket: { maxFragments: 4 } });
    const raw = await openRaw(started);
    raw.send({ opcode: Opcode.Text, payload: 'a', fin: false });
    for (const part of ['b', 'c', 'd']) raw.send({ opcode: Opcode.Continuation, payload: part, fin: false });
    raw.send({ opcode: Opcode.Continuation, payload: 'e' });
    const close = await raw.nextClose();
    assert.deepEqual(close.skipped, [], 'no echo of the refused message');
    assert.ok(close.code === 1008 || close.code === 1009, `a policy or size code, got ${close.code}`);
    assert.equal(await raw.waitClosed(), true);
  });

  test(`${mode}: a message over maxFragments closes with 1008, as the option documents`, async (t) => {
    const started = await startApp(t, mode, { websocket: { maxFragments: 2 } });
    const raw = await openRaw(started);
    raw.send({ opcode: Opcode.Text, payload: 'a', fin: false });
    raw.send({ opcode: Opcode.Continuation, payload: 'b', fin: false });
    raw.send({ opcode: Opcode.Continuation, payload: 'c' });
    assert.equal((await raw.nextClose()).code, 1008);
  });

  test(`${mode}: the server's close waits for the peer's close frame, then ends TCP at once`, async (t) => {
    const started = await startApp(t, mode, { websocket: { closeTimeoutMs: 5_000 } });
    const raw = await openRaw(started);
    raw.sendText('!close 4002 server says bye');
    const close = await raw.nextClose();
    assert.deepEqual([close.code, close.reason], [4002, 'server says bye']);
    assert.equal(await raw.waitClosed(150), false, 'the socket stays open until the peer answers');
    const answered = performance.now();
    raw.sendClose(4002);
    assert.equal(await raw.waitClosed(2_000), true);
    assert.ok(performance.now() - answered < 2_000, 'closed long before closeTimeoutMs');
  });

  test(`${mode}: a peer that never answers the server's close is cut off after closeTimeoutMs`, async (t) => {
    const started = await startApp(t, mode, { websocket: { closeTimeoutMs: 400 } });
    const raw = await openRaw(started);
    raw.sendText('!close 1000 done');
    assert.equal((await raw.nextClose()).code, 1000);
    const sent = performance.now();
    assert.equal(await raw.waitClosed(150), false, 'not before the timeout');
    assert.equal(await raw.waitClosed(3_000), true, 'closed after the timeout');
    assert.ok(performance.now() - sent >= 300, `closed after ${Math.round(performance.now() - sent)} ms`);
  });

  test(`${mode}: the handler can ping and pong; client pings reach the handler too`, async (t) => {
    const started = await startApp(t, mode);
    const raw = await openRaw(started);
    raw.sendText('!ping hello-ping');
    const ping = await raw.nextFrame();
    assert.deepEqual([ping.opcode, ping.payload.toString()], [Opcode.Ping, 'hello-ping']);
    raw.sendText('!pong hello-pong');
    const pong = await raw.nextFrame();
    assert.deepEqual([pong.opcode, pong.payload.toString()], [Opcode.Pong, 'hello-pong']);
  });

  test(`${mode}: the heartbeat terminates a peer that never answers pings; peers that pong stay`, async (t) => {
    const started = await startApp(t, mode, { websocket: { heartbeatIntervalMs: 100 } });
    const dead = await openRaw(started, '/echo', false);
    const alive = await openRaw(started, '/echo', true);
    const ws = await openWs(started);
    assert.equal(await dead.waitClosed(2_000), true, 'the silent peer is terminated');
    assert.ok(dead.pings.length >= 1, 'it was pinged first');
    const frames: number[] = [];
    for (;;) {
      const frame = await dead.nextFrame().catch(() => undefined);
      if (frame === undefined) break;
      frames.push(frame.opcode);
    }
    assert.ok(!frames.includes(Opcode.Close), 'a dead peer gets no closing handshake');

    await delay(500);
    assert.equal(alive.isClosed, false, 'a raw client that answers pings stays');
    assert.ok(alive.pings.length >= 3, `pinged ${alive.pings.length} times in ~0.6 s`);
    alive.sendText('alive');
    assert.equal(await alive.nextText(), 'alive');
    assert.equal(ws.isClosed, false, 'the ws client pongs by itself and stays');
    ws.send('ws alive');
    assert.equal(await ws.nextText(), 'ws alive');
    assert.equal(started.server.stats().websockets, 2);
  });

  test(`${mode}: heartbeatIntervalMs 0 sends no pings`, async (t) => {
    const started = await startApp(t, mode, { websocket: { heartbeatIntervalMs: 0 } });
    const raw = await openRaw(started);
    await delay(300);
    assert.equal(raw.pings.length, 0);
    raw.sendText('quiet');
    assert.equal(await raw.nextText(), 'quiet');
  });
}
