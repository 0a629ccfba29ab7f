// The dispatch protocol's pure codecs (src/threads/message-codec.ts): a request head as one
// NUL-joined string, and the UTF-8 codecs the mailbox writes and reads texts with. No threads here;
// mailbox.test.ts runs both ends of a mailbox.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { RequestHead } from '@mummyx/core';
import { decodeHead, encodeHead, readUtf8, writeUtf8 } from '../dist/threads/message-codec.js';

const seed = Number(process.env.FC_SEED ?? 20261126);

const head: RequestHead = {
  method: 'POST',
  uri: '/items/%C3%A9?x=1&y=2',
  httpVersion: '1.1',
  rawHeaders: ['Host', 'example.test', 'Content-Type', 'text/plain', 'X-Empty', ''],
  remoteAddress: '127.0.0.1',
  path: '/items/é',
  search: 'x=1&y=2',
};

test('a request head survives encoding and decoding field for field', () => {
  assert.deepEqual(decodeHead(encodeHead(head)), head);
});

test('a head without header fields decodes to an empty rawHeaders', () => {
  const bare: RequestHead = { ...head, rawHeaders: [] };
  assert.deepEqual(decodeHead(encodeHead(bare)), bare);
});

test('HTTP/1.0 stays 1.0, and empty fields stay empty', () => {
  const old: RequestHead = { ...head, httpVersion: '1.0', uri: '*', path: '', search: '', remoteAddress: '' };
  assert.deepEqual(decodeHead(encodeHead(old)), old);
});

/** Any text but NUL, which llhttp never lets into a request head. */
const field = fc.string({ unit: 'binary', maxLength: 40 }).filter((text) => !text.includes('\0'));

test('any head without NUL round-trips', () => {
  fc.assert(
    fc.property(
      fc.record({
        method: field,
        uri: field,
        httpVersion: fc.constantFrom<'1.0' | '1.1'>('1.0', '1.1'),
        rawHeaders: fc.array(fc.tuple(field, field), { maxLength: 10 }).map((pairs) => pairs.flat()),
        remoteAddress: field,
        path: field,
        search: field,
      }),
      (generated) => {
        // A plain object, as decodeHead builds (fast-check's records have no prototype).
        const head: RequestHead = { ...generated };
        assert.deepEqual(decodeHead(encodeHead(head)), head);
      },
    ),
    { seed, numRuns: 500 },
  );
});

test('writeUtf8 writes what Buffer.from writes, and readUtf8 reads it back, at any offset', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.nat(64), (text, offset) => {
      const bytes = Buffer.alloc(offset + 4 * text.length + 1, 0xff);
      const written = writeUtf8(bytes, text, offset);
      const expected = Buffer.from(text, 'utf8');
      assert.equal(written, expected.byteLength);
      assert.deepEqual(bytes.subarray(offset, offset + written), expected);
      assert.equal(bytes[offset + written], 0xff, 'nothing written past the text');
      assert.equal(readUtf8(bytes, offset, offset + written), text);
    }),
    { seed, numRuns: 500 },
  );
});
