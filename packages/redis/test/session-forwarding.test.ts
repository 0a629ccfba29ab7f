import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { startNode } from './cluster-nodes.js';
import { RedisProcess, until, withoutRedis } from './redis-server.js';

async function open(url: string): Promise<string> {
  const response = await fetch(`${url}/open`, { method: 'POST' });
  assert.equal(response.status, 200);
  return response.text();
}

async function get(url: string, init?: RequestInit): Promise<{ status: number; text: string }> {
  const response = await fetch(url, init);
  return { status: response.status, text: await response.text() };
}

describe('sessions across nodes', { skip: withoutRedis }, () => {
  it('forwards a request for a session held by another node there, body and all', async (t) => {
    const redis = await RedisProcess.start(t);
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((name) => startNode(t, name, redis.url)));
    const key = await open(a!.url);
    assert.deepEqual(await get(`${b!.url}/session/${key}`), { status: 200, text: 'a:GET:0' });
    const body = 'x'.repeat(100_000);
    assert.deepEqual(await get(`${c!.url}/session/${key}`, { method: 'POST', body }), {
      status: 200,
      text: `a:POST:${body.length}`,
    });
    assert.deepEqual(await get(`${a!.url}/session/${key}`), { status: 200, text: 'a:GET:0' });
    assert.equal(b!.server.stats().sessionDirectory?.forwarded, 1);
    assert.equal(c!.server.stats().sessionDirectory?.forwarded, 1);
    assert.equal(a!.server.stats().sessionDirectory?.forwarded, 0, 'a serves its own sessions without a lookup');
    // Released on a: no node holds it, every node answers as for an unknown session.
    assert.equal((await get(`${b!.url}/close/${key}`, { method: 'POST' })).status, 204);
    assert.equal((await get(`${b!.url}/session/${key}`)).status, 404);
    assert.equal((await get(`${a!.url}/session/${key}`)).status, 404);
    assert.equal((await get(`${c!.url}/session/unknown-key`)).status, 404);
    assert.ok(b!.server.stats().sessionDirectory!.unknown >= 1);
  });

  it('pipes a session stream from its node through another, and the client leaving ends it there', async (t) => {
    const redis = await RedisProcess.start(t);
    const a = await startNode(t, 'a', redis.url);
    const b = await startNode(t, 'b', redis.url);
    const key = await open(a.url);
    const controller = new AbortController();
    const response = await fetch(`${b.url}/stream/${key}`, { signal: controller.signal });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    const reader = response.body!.getReader();
    let text = '';
    while (text.split('tick from a').length < 4)
      text += new TextDecoder().decode((await reader.read()).value as Uint8Array);
    assert.match(text, /event: from\ndata: a\n/);
    assert.equal(a.server.stats().streams, 1);
    controller.abort();
    await until(() => a.server.stats().streams === 0, 'the stream on a to end');
  });

  it('never forwards a forwarded request again', async (t) => {
    const redis = await RedisProcess.start(t);
    const a = await startNode(t, 'a', redis.url);
    const b = await startNode(t, 'b', redis.url);
    const key = await open(a.url);
    const looped = await get(`${b.url}/session/${key}`, { headers: { 'Mummyx-Forwarded': 'c' } });
    assert.equal(looped.status, 404);
    assert.equal(b.server.stats().sessionDirectory?.forwarded, 0);
  });

  it('answers 404 for a session whose node cannot be reached, and for one whose node lease ran out', async (t) => {
    const redis = await RedisProcess.start(t);
    const a = await startNode(t, 'a', redis.url, { nodeLeaseMs: 400 });
    const b = await startNode(t, 'b', redis.url);
    const key = await open(a.url);
    await a.server.close();
    const unreachable = await get(`${b.url}/session/${key}`);
    assert.equal(unreachable.status, 404);
    assert.match(unreachable.text, /cannot be reached/);
    // A node that stops renewing its lease (its connection to Redis is gone for good) is dead to the others.
    const admin = new Redis(redis.url);
    t.after(() => admin.disconnect());
    await a.node.close();
    await admin.set(`mummyx:session:${key}`, 'a');
    const answer = await get(`${b.url}/session/${key}`);
    assert.equal(answer.status, 404);
    assert.match(answer.text, /no session/);
    assert.equal(await admin.exists(`mummyx:session:${key}`), 0, 'the stale claim is deleted');
  });

  it('writes its lease and claims again after Redis restarted empty', async (t) => {
    const redis = await RedisProcess.start(t);
    const a = await startNode(t, 'a', redis.url);
    const b = await startNode(t, 'b', redis.url);
    const key = await open(a.url);
    await redis.stop();
    await redis.start();
    await until(async () => (await get(`${b.url}/session/${key}`)).status === 200, 'the session found again', 20_000);
    assert.equal((await get(`${b.url}/session/${key}`)).text, 'a:GET:0');
  });
});
