import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { EventSource } from 'eventsource';
import { Redis } from 'ioredis';
import { WebSocket } from 'ws';
import { startNode } from './cluster-nodes.js';
import { RedisProcess, until, withoutRedis } from './redis-server.js';

/** Every message a subscriber got, in arrival order. */
interface Inbox {
  messages: string[];
  close(): void;
}

async function sseInbox(t: TestContext, url: string, topic: string): Promise<Inbox> {
  const source = new EventSource(`${url}/events/${topic}`);
  const messages: string[] = [];
  source.onmessage = (event) => messages.push(event.data as string);
  await new Promise<void>((resolve, reject) => {
    source.addEventListener('ready', () => resolve());
    source.onerror = () => reject(new Error('SSE stream failed'));
  });
  t.after(() => source.close());
  return { messages, close: () => source.close() };
}

async function wsInbox(t: TestContext, url: string, topic: string): Promise<Inbox> {
  const socket = new WebSocket(`${url.replace('http', 'ws')}/ws/${topic}`);
  const messages: string[] = [];
  await new Promise<void>((resolve, reject) => {
    socket.on('message', (data) => {
      const text = (data as Buffer).toString('utf8');
      if (text.startsWith('ready ')) resolve();
      else messages.push(text);
    });
    socket.once('error', reject);
  });
  t.after(() => socket.close());
  return { messages, close: () => socket.close() };
}

/** How many Redis connections subscribe to `channel`. */
async function subscribersOf(redisUrl: string, channel: string): Promise<number> {
  const redis = new Redis(redisUrl);
  try {
    const reply = (await redis.pubsub('NUMSUB', channel)) as [string, number];
    return Number(reply[1]);
  } finally {
    redis.disconnect();
  }
}

describe('topics across nodes', { skip: withoutRedis }, () => {
  it('delivers each publish of any node once to every SSE and WebSocket subscriber, in publish order per node', async (t) => {
    const redis = await RedisProcess.start(t);
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((name) => startNode(t, name, redis.url)));
    const inboxes = [
      await sseInbox(t, a!.url, 'news'),
      await sseInbox(t, b!.url, 'news'),
      await wsInbox(t, c!.url, 'news'),
      await wsInbox(t, a!.url, 'news'),
    ];
    await until(async () => (await subscribersOf(redis.url, 'mummyx:topic:news')) === 3, 'three nodes subscribed');
    const count = 200;
    for (let i = 0; i < count; i++) {
      a!.server.publish('news', `a ${i}`);
      c!.server.publish('news', `c ${i}`);
    }
    a!.server.publish('news', 'a end');
    c!.server.publish('news', 'c end');
    for (const inbox of inboxes) {
      await until(() => inbox.messages.includes('a end') && inbox.messages.includes('c end'), 'both end markers');
      for (const origin of ['a', 'c']) {
        const own = inbox.messages.filter((message) => message.startsWith(`${origin} `));
        const expected = [...Array.from({ length: count }, (_, i) => `${origin} ${i}`), `${origin} end`];
        assert.deepEqual(own, expected, `node ${origin}'s messages once each, in order`);
      }
    }
    // A node hands its own publishes to Redis but never delivers them twice.
    assert.equal(a!.server.stats().broker?.published, count + 1);
    assert.equal(b!.server.stats().broker?.received, 2 * (count + 1));
    assert.equal(a!.server.stats().broker?.received, count + 1);
    assert.equal(a!.server.stats().broker?.connected, true);
  });

  it('subscribes a node in Redis only while it has subscribers to the topic', async (t) => {
    const redis = await RedisProcess.start(t);
    const a = await startNode(t, 'a', redis.url);
    const b = await startNode(t, 'b', redis.url);
    assert.equal(await subscribersOf(redis.url, 'mummyx:topic:quiet'), 0);
    const inbox = await sseInbox(t, a.url, 'quiet');
    await until(async () => (await subscribersOf(redis.url, 'mummyx:topic:quiet')) === 1, 'a subscribed');
    b.server.publish('quiet', 'hello');
    await until(() => inbox.messages.length === 1, 'the message from b');
    inbox.close();
    await until(async () => (await subscribersOf(redis.url, 'mummyx:topic:quiet')) === 0, 'a unsubscribed');
  });

  it('serves local subscribers while Redis is down and restarts under a steady stream of publishes, says so, and carries messages across again once it is back', async (t) => {
    const redis = await RedisProcess.start(t);
    const a = await startNode(t, 'a', redis.url);
    const b = await startNode(t, 'b', redis.url);
    const onA = await sseInbox(t, a.url, 'live');
    const onB = await wsInbox(t, b.url, 'live');
    await until(async () => (await subscribersOf(redis.url, 'mummyx:topic:live')) === 2, 'both subscribed');
    // Both nodes publish every 5 ms from now until the end: the load the restart happens under.
    let sent = 0;
    const pump = setInterval(() => {
      a.server.publish('live', `a${sent}`);
      b.server.publish('live', `b${sent}`);
      sent++;
    }, 5);
    t.after(() => clearInterval(pump));
    const from = (inbox: Inbox, node: string) =>
      inbox.messages.filter((message) => message.startsWith(node)).map((message) => Number(message.slice(1)));
    await until(() => from(onB, 'a').length >= 5 && from(onA, 'b').length >= 5, 'cross-node delivery');

    await redis.stop();
    await until(() => a.server.stats().broker?.connected === false, 'a sees Redis gone');
    assert.ok(
      a.logs.some((line) => line.startsWith('error: ') && line.includes('reconnecting')),
      `a clear log line: ${a.logs.join(' | ')}`,
    );
    const sentAtOutage = sent;
    await until(() => sent >= sentAtOutage + 20, 'publishes during the outage');
    const crossedBefore = from(onB, 'a').length;
    await until(() => from(onA, 'a').length >= sentAtOutage + 20, 'local delivery during the outage');
    assert.ok(a.server.stats().broker!.dropped >= 1);
    assert.ok(a.server.stats().broker!.disconnects >= 1);

    await redis.start();
    await until(
      () => a.server.stats().broker?.connected === true && b.server.stats().broker?.connected === true,
      'both reconnected',
      20_000,
    );
    await until(async () => (await subscribersOf(redis.url, 'mummyx:topic:live')) === 2, 'subscriptions restored');
    const sentAtReturn = sent;
    await until(
      () => from(onB, 'a').some((n) => n > sentAtReturn) && from(onA, 'b').some((n) => n > sentAtReturn),
      'cross-node delivery again',
    );
    clearInterval(pump);
    assert.ok(
      a.logs.some((line) => line.startsWith('info: ') && line.includes('reconnected')),
      a.logs.join(' | '),
    );
    assert.ok(from(onB, 'a').length > crossedBefore, 'more crossed after the restart');
    // Local subscribers got every local publish, once, in order, through the outage and the restart.
    await until(() => from(onA, 'a').length === sent && from(onB, 'b').length === sent, 'every local publish');
    const all = Array.from({ length: sent }, (_, i) => i);
    assert.deepEqual(from(onA, 'a'), all);
    assert.deepEqual(from(onB, 'b'), all);
    // What crossed came once and in order, with the gap of the outage only.
    for (const crossed of [from(onB, 'a'), from(onA, 'b')]) {
      assert.ok(
        crossed.every((n, i) => i === 0 || n > crossed[i - 1]!),
        `in order, no repeats: ${crossed.join(',')}`,
      );
    }
  });
});
