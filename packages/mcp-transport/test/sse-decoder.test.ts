// SseDecoder, which reads the SDK's event streams so workers can relay them through core's SSE
// streams: one test per line-ending and field edge case, and a property against an encoder that
// writes each field as WHATWG describes it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SseDecoder, type DecodedEvent } from '../dist/sse-decoder.js';

const seed = Number(process.env['FC_SEED'] ?? 20261207);

interface Encodable {
  event?: string;
  id?: string;
  retry?: number;
  data: string;
}

/** An event on the wire: one line per field, the data split on CRLF, CR and LF into data lines. */
function encodeEvent(event: Encodable): string {
  let out = '';
  if (event.event !== undefined) out += `event: ${event.event}\n`;
  if (event.id !== undefined) out += `id: ${event.id}\n`;
  if (event.retry !== undefined) out += `retry: ${event.retry}\n`;
  for (const line of event.data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return `${out}\n`;
}

function decodeAll(chunks: Array<string | Uint8Array>, maxLine = 1_000_000): DecodedEvent[] {
  const decoder = new SseDecoder(maxLine);
  return chunks.flatMap((chunk) => decoder.push(chunk));
}

const event = (data: string, extra: Partial<{ event: string; id: string; retry: number }> = {}): DecodedEvent => ({
  kind: 'event',
  event: extra.event,
  id: extra.id,
  retry: extra.retry,
  data,
});

test('events end at a blank line after LF, CRLF or CR line ends', () => {
  assert.deepEqual(decodeAll(['data: a\n\ndata: b\r\n\r\ndata: c\r\rdata: d\n']), [event('a'), event('b'), event('c')]);
});

test('a CR at the end of one chunk and an LF at the start of the next are one line end', () => {
  assert.deepEqual(decodeAll(['data: a\r', '\n\r', '\n']), [event('a')]);
  assert.deepEqual(decodeAll(['data: a\r', '\r']), [event('a')]);
});

test('data lines are joined with LF; one space after the colon is dropped, a second is kept', () => {
  assert.deepEqual(decodeAll(['data:one\ndata:  two\ndata\n\n']), [event('one\n two\n')]);
});

test('event, id and retry fields; an id with NUL and a retry that is not digits are ignored', () => {
  assert.deepEqual(decodeAll(['event: message\nid: 7\nretry: 1000\ndata: x\n\n']), [
    event('x', { event: 'message', id: '7', retry: 1000 }),
  ]);
  assert.deepEqual(decodeAll(['id: a\0b\nretry: 1s\ndata: y\n\n']), [event('y')]);
});

test('comments come through; unknown fields and events with no field are dropped', () => {
  assert.deepEqual(decodeAll([': keep-alive\n\nfoo: bar\n\n\n\n']), [{ kind: 'comment', text: 'keep-alive' }]);
});

test('a character split between two chunks of bytes is decoded whole', () => {
  const bytes = new TextEncoder().encode('data: é€😀\n\n');
  assert.deepEqual(decodeAll([bytes.subarray(0, 8), bytes.subarray(8, 11), bytes.subarray(11)]), [event('é€😀')]);
});

test('a line longer than the bound throws', () => {
  const decoder = new SseDecoder(16);
  assert.deepEqual(decoder.push('data: 0123456789\n'), []);
  assert.throws(() => decoder.push('data: 0123456789abcdef'), RangeError);
});

test('property: encoded events and comments, cut anywhere, decode to the same events', () => {
  const text = fc.string({ unit: 'grapheme', maxLength: 40 });
  const line = text.filter((value) => !/[\r\n]/.test(value));
  const anEvent = fc.record(
    {
      event: line.filter((value) => value !== ''),
      id: line.filter((value) => !value.includes('\0')),
      retry: fc.nat(100_000),
      data: text,
    },
    { requiredKeys: ['data'] },
  );
  const item = fc.oneof(
    anEvent.map((e) => ({ e, comment: undefined })),
    line.map((comment) => ({ e: undefined, comment })),
  );
  fc.assert(
    fc.property(fc.array(item, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 6 }), (items, cuts) => {
      const wire = items.map((i) => (i.e === undefined ? `: ${i.comment}\n\n` : encodeEvent(i.e))).join('');
      const bytes = new TextEncoder().encode(wire);
      const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
      const chunks: Uint8Array[] = [];
      let from = 0;
      for (const point of [...points, bytes.length]) {
        chunks.push(bytes.subarray(from, point));
        from = point;
      }
      const expected: DecodedEvent[] = items.flatMap((i): DecodedEvent[] => {
        if (i.e === undefined) return i.comment === undefined ? [] : [{ kind: 'comment', text: i.comment }];
        return [
          {
            kind: 'event',
            event: i.e.event,
            id: i.e.id,
            retry: i.e.retry,
            data: (i.e.data ?? '').replace(/\r\n|\r/g, '\n'),
          },
        ];
      });
      assert.deepEqual(decodeAll(chunks), expected);
    }),
    { seed, numRuns: 1_000 },
  );
});
