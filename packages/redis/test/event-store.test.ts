import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RedisEventStore } from '@mummyx/redis';
import { RedisProcess, withoutRedis } from './redis-server.js';

const message = (id: number) => ({ jsonrpc: '2.0' as const, method: 'notifications/message', params: { id } });

describe('RedisEventStore', { skip: withoutRedis }, () => {
  it('replays the events after an id from any store (node), in order, for that stream only', async (t) => {
    const redis = await RedisProcess.start(t);
    const writer = new RedisEventStore({ url: redis.url });
    const reader = new RedisEventStore({ url: redis.url });
    t.after(() => Promise.all([writer.close(), reader.close()]));
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await writer.storeEvent('s1.get', message(i)));
    await writer.storeEvent('s1.7', message(100));
    assert.equal(new Set(ids).size, 5);
    assert.ok(ids.every((id) => id.startsWith('s1.get#')));
    assert.equal(await reader.getStreamIdForEventId(ids[2]!), 's1.get');
    const replayed: Array<[string, unknown]> = [];
    const streamId = await reader.replayEventsAfter(ids[1]!, {
      send: (id, event) => {
        replayed.push([id, event]);
        return Promise.resolve();
      },
    });
    assert.equal(streamId, 's1.get');
    assert.deepEqual(replayed, [
      [ids[2], message(2)],
      [ids[3], message(3)],
      [ids[4], message(4)],
    ]);
  });

  it('answers unknown and malformed ids with nothing', async (t) => {
    const redis = await RedisProcess.start(t);
    const store = new RedisEventStore({ url: redis.url });
    t.after(() => store.close());
    const send = () => Promise.reject(new Error('nothing to send'));
    for (const id of ['', 'no-hash', 'x#', 'x#abc', '#1-0', 'missing#1-0', 'x#1-0-0']) {
      assert.equal(await store.replayEventsAfter(id, { send }), '', id);
      assert.equal(await store.getStreamIdForEventId(id), undefined, id);
    }
  });

  it('keeps about maxEventsPerStream events and lets a stream expire after streamTtlMs', async (t) => {
    const redis = await RedisProcess.start(t);
    const store = new RedisEventStore({ url: redis.url, maxEventsPerStream: 10, streamTtlMs: 300 });
    t.after(() => store.close());
    const first = await store.storeEvent('s', message(0));
    for (let i = 1; i < 500; i++) await store.storeEvent('s', message(i));
    let count = 0;
    await store.replayEventsAfter(first, {
      send: () => {
        count++;
        return Promise.resolve();
      },
    });
    assert.ok(count >= 10 && count < 499, `trimmed to about 10, kept ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(await store.getStreamIdForEventId(first), undefined);
  });
});
