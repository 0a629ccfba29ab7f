// The pure tus header parsers, without sockets: named edge cases plus fast-check properties.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseRange } from '../dist/http/byte-ranges.js';
import { formatUploadMetadata, parseUploadChecksum, parseUploadMetadata } from '@mummyx/core/tus';

const seed = Number(process.env.FC_SEED ?? 20261126);

test('Upload-Metadata: a key alone has the empty value; spaces around pairs are allowed', () => {
  assert.deepEqual(
    { ...parseUploadMetadata('is_confidential, filename d29ybGQ=') },
    {
      is_confidential: '',
      filename: 'world',
    },
  );
  assert.deepEqual({ ...parseUploadMetadata(undefined) }, {});
  assert.deepEqual({ ...parseUploadMetadata('') }, {});
});

test('Upload-Metadata: refuses non-ASCII keys, empty keys, two spaces and unpadded base64', () => {
  for (const bad of ['ké dg==', ' , a', 'a  YQ==', 'a YQ', 'a Y=Q=', ',']) {
    const parsed = parseUploadMetadata(bad);
    assert.ok('problem' in parsed && typeof parsed.problem === 'string', JSON.stringify(bad));
  }
});

test('Upload-Metadata: a key named __proto__ is stored as plain data', () => {
  const parsed = parseUploadMetadata('__proto__ YQ==') as Record<string, string>;
  assert.equal(Object.getOwnPropertyDescriptor(parsed, '__proto__')?.value, 'a');
  assert.equal(({} as Record<string, unknown>)['a'], undefined);
});

test('Upload-Checksum: algorithm case-insensitive; unknown algorithm and bad base64 refused', () => {
  const parsed = parseUploadChecksum('SHA1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=');
  assert.ok(parsed !== undefined && !('problem' in parsed));
  assert.equal(parsed.algorithm, 'sha1');
  assert.equal(parsed.digest.length, 20);
  assert.match((parseUploadChecksum('crc32 AAAA') as { problem: string }).problem, /not supported/);
  assert.match((parseUploadChecksum('sha1 !!!!') as { problem: string }).problem, /not base64/);
  assert.match((parseUploadChecksum('sha1') as { problem: string }).problem, /<algorithm> <base64 digest>/);
  assert.equal(parseUploadChecksum(undefined), undefined);
});

const metadataKey = fc.stringMatching(/^[\x21-\x2b\x2d-\x7e]{1,12}$/);

test('property: any metadata survives formatUploadMetadata then parseUploadMetadata', () => {
  fc.assert(
    fc.property(fc.dictionary(metadataKey, fc.string({ unit: 'grapheme', maxLength: 20 })), (metadata) => {
      const parsed = parseUploadMetadata(formatUploadMetadata(metadata));
      assert.ok(!('problem' in parsed));
      assert.deepEqual({ ...parsed }, { ...metadata });
    }),
    { seed, numRuns: 1_000 },
  );
});

test('property: every range parseRange returns lies inside the file and is non-empty', () => {
  const spec = fc.oneof(
    fc.tuple(fc.nat(2_000), fc.nat(2_000)).map(([a, b]) => `${a}-${b}`),
    fc.nat(2_000).map((a) => `${a}-`),
    fc.nat(2_000).map((n) => `-${n}`),
  );
  fc.assert(
    fc.property(fc.nat(1_500), fc.array(spec, { minLength: 1, maxLength: 5 }), (size, specs) => {
      const result = parseRange(`bytes=${specs.join(',')}`, size);
      if (result.kind !== 'ranges') return;
      for (const range of result.ranges) {
        assert.ok(range.start >= 0 && range.start <= range.end && range.end < size, JSON.stringify(range));
      }
    }),
    { seed, numRuns: 2_000 },
  );
});
