import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, it, type TestContext } from 'node:test';
import { createServer } from '@mummyx/core';
import { attachRedis } from '@mummyx/redis';
import { RedisProcess, until, withoutRedis } from './redis-server.js';

const fixture = fileURLToPath(new URL('./fixtures/channel-node.js', import.meta.url));

interface ChannelNode {
  heard: unknown[];
  post(message: unknown): void;
}

async function startChannelNode(t: TestContext, redisUrl: string, nodeId: string): Promise<ChannelNode> {
  const child = spawn(process.execPath, [fixture, redisUrl, nodeId, 'test:events'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  t.after(async () => {
    if (child.exitCode !== null) return;
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await once(child, 'exit');
    clearTimeout(timer);
  });
  const heard: unknown[] = [];
  let buffer = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
        if (line === 'ready') resolve();
        else heard.push(JSON.parse(line));
      }
    });
    child.once('exit', (code) => reject(new Error(`channel node exited (${code})`)));
  });
  return { heard, post: (message) => child.stdin.write(`${JSON.stringify(message)}\n`) };
}

describe('BroadcastChannel bridged across nodes', { skip: withoutRedis }, () => {
  it('hands what a thread of one node posts to that channel on every other node, once, in order', async (t) => {
    const redis = await RedisProcess.start(t);
    const nodes = await Promise.all(['a', 'b', 'c'].map((id) => startChannelNode(t, redis.url, id)));
    const [a, b, c] = nodes as [ChannelNode, ChannelNode, ChannelNode];
    // Subscriptions are made before `ready`; a first message proves the path end to end.
    for (let i = 0; i < 50; i++) a.post({ kind: 'resource_updated', uri: `demo://${i}` });
    c.post({ kind: 'tools_list_changed' });
    const fromA = Array.from({ length: 50 }, (_, i) => ({ kind: 'resource_updated', uri: `demo://${i}` }));
    await until(() => b.heard.length === 51 && c.heard.length === 50 && a.heard.length === 1, 'every message');
    assert.deepEqual(
      b.heard.filter((m) => (m as { kind: string }).kind === 'resource_updated'),
      fromA,
    );
    assert.deepEqual(c.heard, fromA, 'c hears a, never its own');
    assert.deepEqual(a.heard, [{ kind: 'tools_list_changed' }], 'a hears c, never its own');
  });

  it('refuses to bridge one channel twice in a process (it would echo)', async (t) => {
    const redis = await RedisProcess.start(t);
    const servers = [0, 1].map(() => createServer((request) => request.respond(204, {}, undefined)));
    for (const server of servers) await server.listen(0);
    const first = await attachRedis(servers[0]!, { url: redis.url, channels: ['test:twice'], log: () => {} });
    t.after(async () => {
      for (const server of servers) await server.close();
      await first.close();
    });
    await assert.rejects(
      attachRedis(servers[1]!, { url: redis.url, channels: ['test:twice'], log: () => {} }),
      /bridged already/,
    );
  });
});
