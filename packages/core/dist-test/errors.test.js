import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MxError, errorCodes } from '@mummyx/core';
test('names every error code MX_ERR_<NOUN>_<PROBLEM> with a description', () => {
    const codes = Object.keys(errorCodes);
    assert.ok(codes.length > 0);
    for (const code of codes) {
        assert.match(code, /^MX_ERR_[A-Z]+(_[A-Z]+)+$/);
        assert.ok(errorCodes[code].length > 0, code);
    }
});
test('carries its code, the description as message, and the detail after it', () => {
    const plain = new MxError('MX_ERR_ROUTE_INVALID');
    assert.equal(plain.code, 'MX_ERR_ROUTE_INVALID');
    assert.equal(plain.message, errorCodes.MX_ERR_ROUTE_INVALID);
    assert.equal(plain.name, 'MxError');
    assert.ok(plain instanceof Error);
    assert.equal(plain.status, undefined);
    assert.equal(plain.closeCode, undefined);
    const detailed = new MxError('MX_ERR_ROUTE_INVALID', '"abc"');
    assert.equal(detailed.message, `${errorCodes.MX_ERR_ROUTE_INVALID}: "abc"`);
});
test('carries status, closeCode and cause when given', () => {
    const cause = new Error('root');
    const error = new MxError('MX_ERR_QUEUE_FULL', undefined, { status: 503, closeCode: 1013, cause });
    assert.equal(error.status, 503);
    assert.equal(error.closeCode, 1013);
    assert.equal(error.cause, cause);
});
//# sourceMappingURL=errors.test.js.map