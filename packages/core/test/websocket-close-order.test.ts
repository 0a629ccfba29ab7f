// A reply the handler makes to a message that arrived just before the peer's close frame, or just
// before a frame that breaks the protocol, goes out before the server's close frame — on a worker
// thread as inline (the Autobahn|Testsuite cases 3.2-3.4, 4.1.3-4.1.5, 4.2.3-4.2.5, 5.15 and 7.1.6,
// reproduced with raw frames sent in one write). And the default maxFragments takes a 4 MiB
// message in 1 KiB and 4 KiB fragments (9.3.3, 9.3.4, 9.4.3, 9.4.4), and is still bounded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openGate } from './fixtures/gate.js';
import {
  Opcode,
  RawWebSocket,
  closeOf,
  closePayload,
  encodeFrame,
  modes,
  startApp,
  type ServerFrame,
} from './fixtures/websocket-kit.js';

/** Frames until the close frame (inclusive); pings answered by nobody are kept too. */
async function framesUntilClose(client: RawWebSocket, timeoutMs = 10_000): Promise<ServerFrame[]> {
  const frames: ServerFrame[] = [];
  for (;;) {
    const frame = await client.nextFrame(timeoutMs);
    frames.push(frame);
    if (frame.opcode === Opcode.Close) return frames;
  }
}

function describe(frames: ServerFrame[]): string[] {
  return frames.map((frame) =>
    frame.opcode === Opcode.Close
      ? `close ${closeOf(frame).code}`
      : frame.opcode === Opcode.Text
        ? `text ${frame.payload.length > 40 ? `${frame.payload.length} bytes` : frame.payload.toString()}`
        : `opcode ${frame.opcode}`,
  );
}

const text = (payload: string | Buffer, fin = true): Buffer => encodeFrame({ opcode: Opcode.Text, payload, fin });
const ping = encodeFrame({ opcode: Opcode.Ping, payload: 'ping' });

/** Each case: the bytes sent in one write, and the frames the server must send back, in order. */
const cases: Array<{ name: string; bytes: Buffer; expected: string[] }> = [
  {
    name: '3.2: a text message, then a frame with RSV2 set, then a ping',
    bytes: Buffer.concat([text('hello'), encodeFrame({ opcode: Opcode.Text, payload: 'bad', rsv: 0b010 }), ping]),
    expected: ['text hello', 'close 1002'],
  },
  {
    name: '3.3: a text message, then a frame with RSV1 and RSV2 set, then a ping',
    bytes: Buffer.concat([text('hello'), encodeFrame({ opcode: Opcode.Text, payload: 'bad', rsv: 0b110 }), ping]),
    expected: ['text hello', 'close 1002'],
  },
  {
    name: '3.4: a text message, then a frame with RSV3 set, then a ping',
    bytes: Buffer.concat([text('hello'), encodeFrame({ opcode: Opcode.Text, payload: 'bad', rsv: 0b001 }), ping]),
    expected: ['text hello', 'close 1002'],
  },
  ...[3, 4, 5].map((opcode) => ({
    name: `4.1.${opcode}: a text message, then a frame with reserved opcode ${opcode}, then a ping`,
    bytes: Buffer.concat([text('hello'), encodeFrame({ opcode, payload: 'bad' }), ping]),
    expected: ['text hello', 'close 1002'],
  })),
  ...[11, 12, 13].map((opcode, i) => ({
    name: `4.2.${i + 3}: a text message, then a frame with reserved control opcode ${opcode}, then a ping`,
    bytes: Buffer.concat([text('hello'), encodeFrame({ opcode, payload: 'bad' }), ping]),
    expected: ['text hello', 'close 1002'],
  })),
  {
    name: '5.15: a message in two fragments, then a continuation with nothing to continue, then a text message',
    bytes: Buffer.concat([
      text('fragment1', false),
      encodeFrame({ opcode: Opcode.Continuation, payload: 'fragment2' }),
      encodeFrame({ opcode: Opcode.Continuation, payload: 'fragment3', fin: false }),
      encodeFrame({ opcode: Opcode.Text, payload: 'fragment4', fin: false }),
      encodeFrame({ opcode: Opcode.Continuation, payload: 'fragment5' }),
    ]),
    expected: ['text fragment1fragment2', 'close 1002'],
  },
  {
    name: '7.1.6: a 256 KiB text message, then a close frame, then a ping',
    bytes: Buffer.concat([
      text('BAsd7&jh23'.repeat(26_215).slice(0, 262_144)),
      encodeFrame({ opcode: Opcode.Close, payload: closePayload(1000) }),
      ping,
    ]),
    expected: ['text 262144 bytes', 'close 1000'],
  },
];

test('threaded: the close waits at most closeTimeoutMs for the handler', async (t) => {
  const gate = openGate();
  t.after(() => gate.open());
  const { port, track } = await startApp(t, 'threaded', { websocket: { closeTimeoutMs: 300 } });
  const client = await RawWebSocket.open(port, '/echo');
  track(client);
  // The handler holds its worker at the gate on the message before the close frame: the server's
  // close frame does not wait for it past closeTimeoutMs, and the late reply is dropped.
  client.write(Buffer.concat([text('!gate'), encodeFrame({ opcode: Opcode.Close, payload: closePayload(1000) })]));
  await gate.arrivals(1);
  assert.deepEqual(describe(await framesUntilClose(client, 5_000)), ['close 1000']);
  assert.equal(gate.isOpen, false, 'the close frame came while the handler was still held');
});

for (const mode of modes) {
  for (const { name, bytes, expected } of cases) {
    test(`${mode}: ${name}: the reply goes out before the close frame`, async (t) => {
      const { port, track } = await startApp(t, mode, { websocket: { maxMessageBytes: 1_048_576 } });
      const client = await RawWebSocket.open(port, '/echo');
      track(client);
      client.write(bytes);
      assert.deepEqual(describe(await framesUntilClose(client)), expected);
    });
  }

  test(`${mode}: a 4 MiB message in 1 KiB and in 4 KiB fragments is echoed whole by default`, async (t) => {
    const { port, track } = await startApp(t, mode, { websocket: { maxMessageBytes: 8_388_608 } });
    for (const fragmentBytes of [1_024, 4_096]) {
      const client = await RawWebSocket.open(port, '/echo');
      track(client);
      const message = Buffer.alloc(4_194_304, 'x');
      const frames: Buffer[] = [];
      for (let at = 0; at < message.length; at += fragmentBytes) {
        frames.push(
          encodeFrame({
            opcode: at === 0 ? Opcode.Text : Opcode.Continuation,
            payload: message.subarray(at, at + fragmentBytes),
            fin: at + fragmentBytes >= message.length,
          }),
        );
      }
      client.write(Buffer.concat(frames));
      const echo = await client.nextFrame(30_000);
      assert.equal(echo.opcode, Opcode.Text);
      assert.equal(echo.payload.length, message.length, `${fragmentBytes}-byte fragments`);
      client.sendClose(1000);
      assert.equal((await client.nextClose(10_000)).code, 1000);
    }
  });

  test(`${mode}: the default maxFragments is still bounded: 1 025 one-byte fragments close with 1008`, async (t) => {
    const { port, track } = await startApp(t, mode);
    const client = await RawWebSocket.open(port, '/echo');
    track(client);
    const frames = [text('a', false)];
    for (let i = 0; i < 1_024; i++) frames.push(encodeFrame({ opcode: Opcode.Continuation, payload: 'a', fin: false }));
    client.write(Buffer.concat(frames));
    assert.equal((await client.nextClose(10_000)).code, 1008);
  });
}
