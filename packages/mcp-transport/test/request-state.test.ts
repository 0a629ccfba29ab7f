// mount.requestState: SDK 2.x's HMAC codec with the mount's key. Without a key, every mount in the
// process shares one random key (the threaded tests show workers sharing it).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Router } from '@mummyx/core';
import { mountMcp, type McpMountOptions } from '@mummyx/mcp-transport';
import { createTestServer } from './fixtures/tools.js';

function mount(options: Partial<McpMountOptions> = {}) {
  return mountMcp(new Router(), { createServer: createTestServer, log: () => {}, ...options });
}

test('a state minted by one mount verifies on another of the same process; the methods work detached', async (t) => {
  const a = mount();
  const b = mount();
  t.after(() => Promise.all([a.close(), b.close()]));
  const { mint } = a.requestState;
  const { verify } = b.requestState;
  const state = await mint({ step: 2 });
  assert.deepEqual(await verify(state, {}), { step: 2 });
});

test('a mount with its own key refuses states of the default key, and the other way round', async (t) => {
  const keyed = mount({ requestStateKey: 'k'.repeat(32) });
  const sameKey = mount({ requestStateKey: new TextEncoder().encode('k'.repeat(32)) });
  const fallback = mount();
  t.after(() => Promise.all([keyed.close(), sameKey.close(), fallback.close()]));
  const state = await keyed.requestState.mint({ n: 1 });
  assert.deepEqual(await sameKey.requestState.verify(state, {}), { n: 1 }, 'a string key is its UTF-8 bytes');
  await assert.rejects(fallback.requestState.verify(state, {}));
  await assert.rejects(keyed.requestState.verify(await fallback.requestState.mint({ n: 2 }), {}));
  await assert.rejects(keyed.requestState.verify(`${state.slice(0, -2)}AA`, {}), 'a changed MAC is refused');
});

test('bad key and TTL options are refused when mounting', () => {
  assert.throws(() => mount({ requestStateKey: 'short' }), RangeError);
  assert.throws(() => mount({ requestStateKey: new Uint8Array(31) }), RangeError);
  assert.throws(() => mount({ requestStateTtlSeconds: 0 }), RangeError);
  assert.throws(() => mount({ modern: { responseMode: 'json' as 'sse' } }), RangeError);
});
