import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Headers } from '@mummyx/core';
const seed = Number(process.env.FC_SEED ?? 20261126);
test('builds from an object, expanding array values and skipping undefined', () => {
    const headers = new Headers({
        'Content-Type': 'text/plain',
        'Set-Cookie': ['a=1', 'b=2'],
        'X-N': 5,
        'X-U': undefined,
    });
    assert.deepEqual(headers.toRaw(), [
        'Content-Type',
        'text/plain',
        'Set-Cookie',
        'a=1',
        'Set-Cookie',
        'b=2',
        'X-N',
        '5',
    ]);
    assert.equal(headers.size, 4);
});
test('builds from [name, value] pairs in order', () => {
    const headers = new Headers([
        ['B', '2'],
        ['a', '1'],
        ['B', '3'],
    ]);
    assert.deepEqual([...headers], [
        ['B', '2'],
        ['a', '1'],
        ['B', '3'],
    ]);
});
test('copies another Headers, so changing the copy leaves the original alone', () => {
    const original = new Headers({ A: '1' });
    const copy = new Headers(original);
    copy.set('A', '2').append('B', '3');
    assert.equal(original.get('a'), '1');
    assert.equal(original.size, 1);
    assert.equal(copy.get('a'), '2');
});
test('looks names up case-insensitively and keeps their original case', () => {
    const headers = new Headers([
        ['X-Trace-Id', 'abc'],
        ['x-trace-id', 'def'],
    ]);
    assert.equal(headers.get('X-TRACE-ID'), 'abc');
    assert.deepEqual(headers.getAll('x-Trace-Id'), ['abc', 'def']);
    assert.equal(headers.count('X-TRACE-ID'), 2);
    assert.equal(headers.has('x-trace-id'), true);
    assert.equal(headers.has('x-trace'), false);
    assert.equal(headers.get('missing'), undefined);
    assert.deepEqual(headers.getAll('missing'), []);
    assert.deepEqual(headers.toJSON(), [
        ['X-Trace-Id', 'abc'],
        ['x-trace-id', 'def'],
    ]);
});
test('finds a header whose value is empty', () => {
    const headers = new Headers([['X-Empty', '']]);
    assert.equal(headers.has('x-empty'), true);
    assert.equal(headers.get('x-empty'), '');
});
test('appends without replacing, sets by replacing every field of the name, deletes them all', () => {
    const headers = new Headers();
    headers.append('Via', '1.1 a').append('via', '1.1 b').append('Other', 'x');
    assert.deepEqual(headers.getAll('VIA'), ['1.1 a', '1.1 b']);
    headers.set('VIA', '1.1 c');
    assert.deepEqual(headers.getAll('via'), ['1.1 c']);
    assert.deepEqual(headers.toRaw(), ['Other', 'x', 'VIA', '1.1 c']);
    headers.delete('via');
    assert.deepEqual(headers.toRaw(), ['Other', 'x']);
});
test('finds a token in comma-separated values across fields, case-insensitively', () => {
    const headers = new Headers([
        ['Connection', 'keep-alive, Upgrade'],
        ['Accept-Encoding', 'gzip'],
        ['accept-encoding', ' br ,deflate'],
    ]);
    assert.equal(headers.hasToken('connection', 'upgrade'), true);
    assert.equal(headers.hasToken('connection', 'close'), false);
    assert.equal(headers.hasToken('Accept-Encoding', 'BR'), true);
    assert.equal(headers.hasToken('accept-encoding', 'deflate'), true);
    assert.equal(headers.hasToken('accept-encoding', 'gzi'), false);
    assert.equal(headers.hasToken('missing', 'x'), false);
});
test('returns a copy from toRaw', () => {
    const headers = new Headers({ A: '1' });
    const raw = headers.toRaw();
    raw.push('B', '2');
    assert.equal(headers.size, 1);
});
test('reads a flat list given to fromRaw', () => {
    const headers = Headers.fromRaw(['Host', 'x', 'Accept', 'a', 'accept', 'b']);
    assert.equal(headers.get('host'), 'x');
    assert.deepEqual(headers.getAll('ACCEPT'), ['a', 'b']);
    assert.deepEqual([...headers.entries()], [
        ['Host', 'x'],
        ['Accept', 'a'],
        ['accept', 'b'],
    ]);
});
const fieldName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,6}$/);
const fieldValue = fc.stringMatching(/^[ -~]{0,12}$/);
/** Changes the case of every letter of `name` according to `flips`. */
function recase(name, flips) {
    return [...name].map((c, i) => (flips[i % Math.max(1, flips.length)] ? c.toUpperCase() : c.toLowerCase())).join('');
}
test('agrees on get, getAll, count and has for any fields and any casing of the name', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fieldName, fieldValue), { maxLength: 12 }), fieldName, fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), (fields, probe, flips) => {
        const headers = new Headers(fields);
        const asked = recase(probe, flips);
        const expected = fields.filter(([name]) => name.toLowerCase() === probe.toLowerCase()).map(([, v]) => v);
        assert.deepEqual(headers.getAll(asked), expected);
        assert.equal(headers.get(asked), expected[0]);
        assert.equal(headers.count(asked), expected.length);
        assert.equal(headers.has(asked), expected.length > 0);
        assert.deepEqual(Headers.fromRaw(headers.toRaw()).toJSON(), fields);
        headers.delete(asked);
        assert.equal(headers.size, fields.length - expected.length);
    }), { seed, numRuns: 300 });
});
//# sourceMappingURL=headers.test.js.map