import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisUploadLocker } from '@mummyx/redis';
import { RedisProcess, withoutRedis } from './redis-server.js';

describe('RedisUploadLocker', { skip: withoutRedis }, () => {
  it('lets one holder at a time have an upload, across lockers (nodes), and hands it on at release', async (t) => {
    const redis = await RedisProcess.start(t);
    const [first, second] = [new RedisUploadLocker({ url: redis.url }), new RedisUploadLocker({ url: redis.url })];
    t.after(() => Promise.all([first.close(), second.close()]));
    const release = await first.acquire('u1', 1_000);
    assert.equal(typeof release, 'function');
    assert.equal(await second.isLocked('u1'), true);
    assert.equal(await second.acquire('u1', 100), undefined, 'held elsewhere: none within the timeout');
    const order: string[] = [];
    const waiting = second.acquire('u1', 5_000).then((next) => {
      order.push('second has it');
      return next;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    order.push('first releases');
    release!();
    release!();
    const next = await waiting;
    assert.deepEqual(order, ['first releases', 'second has it']);
    assert.equal(typeof next, 'function');
    const other = await first.acquire('u2', 100);
    assert.equal(typeof other, 'function', 'other uploads are not held up');
    other!();
    next!();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(await first.isLocked('u1'), false);
  });

  it('keeps a held lock past its lease by renewing it, and frees it after the lease once the holder is gone', async (t) => {
    const redis = await RedisProcess.start(t);
    const admin = new Redis(redis.url);
    const holderClient = new Redis(redis.url);
    const holder = new RedisUploadLocker({ redis: holderClient, leaseMs: 300 });
    const other = new RedisUploadLocker({ url: redis.url, leaseMs: 300 });
    t.after(async () => {
      admin.disconnect();
      holderClient.disconnect();
      await other.close();
    });
    const release = await holder.acquire('u', 100);
    assert.ok(release !== undefined);
    await new Promise((resolve) => setTimeout(resolve, 700));
    assert.equal(await other.acquire('u', 50), undefined, 'renewed while held');
    // The holder's node dies: no release, no renewal.
    holderClient.disconnect();
    const started = Date.now();
    const taken = await other.acquire('u', 3_000);
    assert.ok(taken !== undefined, 'free once the lease ran out');
    assert.ok(Date.now() - started < 3_000);
    assert.ok((await admin.pttl('mummyx:upload-lock:u')) > 0, 'the new holder has a lease');
    release();
    assert.equal(await other.isLocked('u'), true, "a stale holder's release does not free the new holder's lock");
    taken();
  });
});
