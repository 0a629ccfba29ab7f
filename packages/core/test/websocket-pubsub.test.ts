// Topics for WebSockets: subscribe/unsubscribe on the handle, publish from the IO thread
// (server.publish, publish()) and from handlers (on workers when threaded), fan-out to every
// subscriber in order, closed connections dropped from their topics.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { publish } from '@mummyx/core';
import { modes, startApp, waitFor, WsClient, type Started } from './fixtures/websocket-kit.js';

async function openWs(started: Started, path = '/echo'): Promise<WsClient> {
  const client = await WsClient.open(`${started.wsUrl}${path}`);
  started.track(client);
  return client;
}

/** A client subscribed to `topics` at upgrade, once the handler confirmed it. */
async function subscriber(started: Started, ...topics: string[]): Promise<WsClient> {
  const client = await openWs(started, `/echo?${topics.map((topic) => `topic=${topic}`).join('&')}`);
  assert.equal(await client.nextText(), `subscribed ${topics.join(',')}`);
  return client;
}

/** Proves nothing else is queued for `client`: an echo comes back as the very next message. */
async function assertNothingPending(client: WsClient, what: string): Promise<void> {
  client.send('probe');
  assert.equal(await client.nextText(), 'probe', what);
}

for (const mode of modes) {
  test(`${mode}: server.publish reaches every subscriber of the topic and returns their count`, async (t) => {
    const started = await startApp(t, mode);
    const subscribers = await Promise.all([1, 2, 3].map(() => subscriber(started, 'news')));
    const other = await subscriber(started, 'sport');
    const bystander = await openWs(started);
    assert.equal(started.server.publish('news', 'breaking'), 3);
    for (const client of subscribers) assert.equal(await client.nextText(), 'breaking');
    await assertNothingPending(other, 'another topic receives nothing');
    await assertNothingPending(bystander, 'an unsubscribed connection receives nothing');
    assert.equal(started.server.publish('nobody-listens', 'x'), 0);
  });

  test(`${mode}: publish() on the main thread reaches the subscribers`, async (t) => {
    const started = await startApp(t, mode);
    const client = await subscriber(started, 'main-thread');
    publish('main-thread', 'from main');
    assert.equal(await client.nextText(), 'from main');
  });

  test(`${mode}: publish from a handler reaches every subscriber, the publisher included`, async (t) => {
    const started = await startApp(t, mode);
    const listener = await subscriber(started, 'room');
    const publisher = await subscriber(started, 'room');
    const outsider = await openWs(started);
    outsider.send('!publish room from the outside');
    assert.equal(await outsider.nextText(), 'published');
    assert.equal(await listener.nextText(), 'from the outside');
    assert.equal(await publisher.nextText(), 'from the outside');

    publisher.send('!publish room from inside');
    // The publish reached the IO thread before the handler's own reply.
    assert.equal(await publisher.nextText(), 'from inside');
    assert.equal(await publisher.nextText(), 'published');
    assert.equal(await listener.nextText(), 'from inside');
    await assertNothingPending(outsider, 'the publisher is not subscribed');
  });

  test(`${mode}: bytes are published as binary messages, strings as text, objects as JSON text`, async (t) => {
    const started = await startApp(t, mode);
    const client = await subscriber(started, 'kinds');
    const publisher = await openWs(started);
    publisher.send('!publish-binary kinds abc');
    assert.equal(await publisher.nextText(), 'published');
    assert.deepEqual(await client.next(), { data: Buffer.from('abc'), isBinary: true });
    started.server.publish('kinds', Buffer.from([0, 255]));
    assert.deepEqual(await client.next(), { data: Buffer.from([0, 255]), isBinary: true });
    started.server.publish('kinds', 'text');
    assert.deepEqual(await client.next(), { data: 'text', isBinary: false });
    started.server.publish('kinds', { a: 1, b: ['x'] });
    assert.deepEqual(await client.next(), { data: '{"a":1,"b":["x"]}', isBinary: false });
  });

  test(`${mode}: many publishes arrive in order on every subscriber`, async (t) => {
    const started = await startApp(t, mode);
    const clients = await Promise.all([1, 2, 3, 4].map(() => subscriber(started, 'seq')));
    for (let i = 0; i < 200; i++) started.server.publish('seq', `m${i}`);
    for (const client of clients) {
      for (let i = 0; i < 200; i++) assert.equal(await client.nextText(), `m${i}`);
    }
  });

  test(`${mode}: unsubscribe stops delivery; subscribing twice delivers once`, async (t) => {
    const started = await startApp(t, mode);
    const client = await subscriber(started, 'a', 'b');
    client.send('!subscribe a');
    assert.equal(await client.nextText(), 'subscribed a');
    assert.equal(started.server.publish('a', 'once'), 1);
    assert.equal(await client.nextText(), 'once');
    await assertNothingPending(client, 'a second subscription does not double delivery');

    client.send('!unsubscribe a');
    assert.equal(await client.nextText(), 'unsubscribed a');
    assert.equal(started.server.publish('a', 'gone'), 0);
    assert.equal(started.server.publish('b', 'still b'), 1);
    assert.equal(await client.nextText(), 'still b');

    client.send('!unsubscribe never-subscribed');
    assert.equal(await client.nextText(), 'unsubscribed never-subscribed');
    client.send('!subscribe a');
    assert.equal(await client.nextText(), 'subscribed a');
    assert.equal(started.server.publish('a', 'back'), 1);
    assert.equal(await client.nextText(), 'back');
  });

  test(`${mode}: a closed connection leaves its topics`, async (t) => {
    const started = await startApp(t, mode);
    const staying = await subscriber(started, 'leave');
    const leaving = await subscriber(started, 'leave');
    const dropped = await subscriber(started, 'leave');
    assert.equal(started.server.publish('leave', 'all three'), 3);
    leaving.ws.close();
    dropped.destroy();
    await waitFor('two connections gone', () => started.server.stats().websockets === 1);
    assert.equal(started.server.publish('leave', 'one left'), 1);
    assert.equal(await staying.nextText(), 'all three');
    assert.equal(await staying.nextText(), 'one left');
  });
}
