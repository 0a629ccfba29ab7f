// The pure parts of writing a web Response back (src/fetch/web-response.ts and response-body.ts,
// and the body helpers of src/http/response-stream.ts): header flattening, event-stream
// detection, chunk checks, the quick read and the Readable over a web body, without sockets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { deferred } from './helpers.js';
import { joinChunks, readQuickly } from '../dist/fetch/response-body.js';
import { flatHeadersOf } from '../dist/fetch/web-response.js';
import { chunkBytes, isEventStream, WebBodyReadable } from '../dist/http/response-stream.js';

const text = (chunks: readonly Uint8Array[]): string => Buffer.concat(chunks).toString();
const bytes = (value: string): Uint8Array => new TextEncoder().encode(value);

/** A web stream whose pulls are counted; `chunks` are produced in order, one per pull. */
function counted(chunks: Array<string | Uint8Array>) {
  const state = { pulls: 0, cancelled: undefined as unknown, isCancelled: false };
  const stream = new ReadableStream<unknown>(
    {
      pull(controller) {
        const next = chunks[state.pulls++];
        if (next === undefined) controller.close();
        else controller.enqueue(next);
      },
      cancel(reason) {
        state.isCancelled = true;
        state.cancelled = reason;
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, state };
}

test('each Set-Cookie stays its own field; other repeats are joined; Transfer-Encoding is dropped', () => {
  const headers = new Headers();
  headers.append('Set-Cookie', 'a=1; Path=/');
  headers.append('Content-Type', 'text/plain');
  headers.append('Set-Cookie', 'b=2, with a comma; Expires=Wed, 21 Oct 2026 07:28:00 GMT');
  headers.append('Vary', 'Origin');
  headers.append('Vary', 'Accept');
  headers.append('Transfer-Encoding', 'chunked');
  headers.append('Set-Cookie', 'c=3');
  assert.deepEqual(flatHeadersOf(headers), [
    'content-type',
    'text/plain',
    'vary',
    'Origin, Accept',
    'set-cookie',
    'a=1; Path=/',
    'set-cookie',
    'b=2, with a comma; Expires=Wed, 21 Oct 2026 07:28:00 GMT',
    'set-cookie',
    'c=3',
  ]);
  assert.deepEqual(flatHeadersOf(new Headers()), []);
});

test('text/event-stream is recognised whatever its case, spacing and parameters', () => {
  for (const type of ['text/event-stream', 'Text/Event-Stream', ' text/event-stream ; charset=utf-8']) {
    assert.equal(isEventStream(type), true, type);
  }
  for (const type of [undefined, '', 'text/event-streams', 'text/plain', 'text/event-stream-x;a=b']) {
    assert.equal(isEventStream(type), false, String(type));
  }
});

test('a chunk is a Uint8Array as it is, a string as UTF-8; anything else is a TypeError', () => {
  const array = new Uint8Array([1, 2, 3]);
  assert.equal(chunkBytes(array), array);
  assert.deepEqual([...chunkBytes('é')], [0xc3, 0xa9]);
  assert.throws(() => chunkBytes(42), /must be a Uint8Array, got number/);
  assert.throws(() => chunkBytes(new ArrayBuffer(2)), /got ArrayBuffer/);
  assert.throws(() => chunkBytes(null), /got null/);
});

test('joinChunks gives undefined for none, the chunk itself for one, a copy for several', () => {
  const one = bytes('one');
  assert.equal(joinChunks([], 0), undefined);
  assert.equal(joinChunks([one], 3), one);
  assert.equal(Buffer.from(joinChunks([one, bytes('two')], 6)!).toString(), 'onetwo');
});

test('readQuickly reads a body made from a string whole', async () => {
  const read = await readQuickly(new Response('made at once').body!.getReader(), 1024);
  assert.equal(read.isComplete, true);
  assert.equal(text(read.chunks), 'made at once');
  assert.equal(read.bytes, 12);
  assert.equal(read.pending, undefined);
});

test('readQuickly stops at the first turn of the event loop, with the next read in flight', async () => {
  // The second chunk waits for the test, which lets it go only once readQuickly has returned:
  // only the turn of the event loop can end the reading.
  const release = deferred();
  let step = 0;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      step++;
      if (step === 1) controller.enqueue(bytes('now '));
      else if (step === 2) {
        await release.promise;
        controller.enqueue(bytes('later'));
      } else controller.close();
    },
  });
  const reader = stream.getReader();
  const read = await readQuickly(reader, 1024);
  release.resolve();
  assert.equal(read.isComplete, false);
  assert.equal(text(read.chunks), 'now ');
  assert.ok(read.pending !== undefined);
  const next = await read.pending;
  assert.equal(Buffer.from(next.value as Uint8Array).toString(), 'later');
});

test('readQuickly stops once past maxBytes, even when the producer never pauses', async () => {
  let pulls = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulls++;
      controller.enqueue(new Uint8Array(1000));
    },
  });
  const read = await readQuickly(endless.getReader(), 10_000);
  assert.equal(read.isComplete, false);
  assert.equal(read.pending, undefined);
  assert.equal(read.bytes, 11_000);
  assert.ok(pulls <= 13, `${pulls} pulls`);
});

test('WebBodyReadable gives the chunks read already, the pending read, then the rest, in order', async () => {
  const { stream } = counted(['second ', 'third ', 'fourth']);
  const reader = stream.getReader();
  const pending = reader.read();
  const readable = new WebBodyReadable(reader, [bytes('first ')], pending);
  let all = '';
  for await (const chunk of readable) all += (chunk as Buffer).toString();
  assert.equal(all, 'first second third fourth');
});

test('WebBodyReadable reads the web stream only as fast as it is consumed', async () => {
  const chunks = Array.from({ length: 1000 }, () => new Uint8Array(1024));
  const { stream, state } = counted(chunks);
  const readable = new WebBodyReadable(stream.getReader());
  readable.pause();
  readable.read(0); // Starts the reading, as a pipe does.
  await delay(50);
  // Node's buffer (its high-water mark: 16 KiB on Node 20, 64 KiB later) fills with 1 KiB
  // chunks, then reading stops.
  const bound = readable.readableHighWaterMark / 1024 + 4;
  assert.ok(state.pulls <= bound, `${state.pulls} pulls before anything was consumed (bound ${bound})`);
  let total = 0;
  for await (const chunk of readable) total += (chunk as Buffer).length;
  assert.equal(total, 1000 * 1024);
});

test('destroying WebBodyReadable cancels the web stream; a stream error destroys it', async () => {
  const { stream, state } = counted(['a', 'b', 'c']);
  const readable = new WebBodyReadable(stream.getReader());
  readable.on('error', () => {});
  readable.destroy(new Error('client left'));
  await delay(1);
  assert.equal(state.isCancelled, true);
  assert.match(String(state.cancelled), /client left/);

  const failing = new ReadableStream({
    pull(controller) {
      controller.error(new Error('producer broke'));
    },
  });
  const broken = new WebBodyReadable(failing.getReader());
  await assert.rejects(
    (async () => {
      for await (const chunk of broken) void chunk;
    })(),
    /producer broke/,
  );

  const wrong = new WebBodyReadable(counted([42 as unknown as string]).stream.getReader());
  await assert.rejects(
    (async () => {
      for await (const chunk of wrong) void chunk;
    })(),
    /must be a Uint8Array, got number/,
  );
});
