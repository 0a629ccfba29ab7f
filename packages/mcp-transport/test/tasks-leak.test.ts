// 10,000 tasks created over HTTP and expired leave nothing behind: the store is empty, no run is
// left, and the heap's objects are back where they were, within 5 % of what the 10,000 tasks take
// while held (a leak of a twentieth of a task's size would show; a warm server's object spaces move
// by a few hundred KiB without one). What one held task takes is measured first, on 1,000 tasks
// kept past the measurement.
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { McpServer } from '@modelcontextprotocol/server';
import { createServer, Router } from '@mummyx/core';
import { mountMcp, type McpMount } from '@mummyx/mcp-transport';
import { envelope, modernVersion } from './helpers-tasks.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/**
 * Bytes of live objects (old, new and large-object spaces) after full collections, with turns of
 * the event loop between them so finalizers (web Request signals clean up through them) run. Code
 * spaces are left out: compiled code grows as a warm server keeps optimizing, whatever it holds.
 */
async function heapUsed(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const objectSpaces = new Set(['old_space', 'new_space', 'large_object_space', 'new_large_object_space']);
  return v8
    .getHeapSpaceStatistics()
    .filter((space) => objectSpaces.has(space.space_name))
    .reduce((sum, space) => sum + space.space_used_size, 0);
}

const done = { content: [{ type: 'text' as const, text: 'done' }] };

/** A mount at `path` of a one-tool server whose every call of `quick` becomes a task. */
function mountQuick(router: Router, path: string, ttlMs: number): McpMount {
  return mountMcp(router, {
    path,
    createServer: (ctx) => {
      const server = new McpServer(
        { name: 'quick', version: '1.0.0' },
        { ...ctx.serverOptions, capabilities: { tools: {} } },
      );
      server.registerTool('quick', { description: 'Answers at once' }, () => done);
      return server;
    },
    tasks: { tools: ['quick'], ttlMs, maxTasks: 20_000, maxTasksPerPrincipal: 20_000 },
    ssePath: false,
    websocketPath: false,
    healthPath: false,
    log: () => {},
  });
}

test(
  '10,000 tasks created and expired leave the store empty and the heap where it was',
  { timeout: 600_000 },
  async (t) => {
    const router = new Router();
    const held = mountQuick(router, '/held', 600_000);
    const expiring = mountQuick(router, '/expiring', 1_000);
    const server = createServer(router, { logLevel: 'error' });
    const { port } = await server.listen(0);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    t.after(async () => {
      agent.destroy();
      await held.close();
      await expiring.close();
      await server.close();
    });
    const body = Buffer.from(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'quick', arguments: {}, _meta: envelope() },
      }),
    );
    const call = (path: string) =>
      new Promise<string>((resolve, reject) => {
        const request = http.request(
          {
            host: '127.0.0.1',
            port,
            path,
            method: 'POST',
            agent,
            headers: {
              'Content-Type': 'application/json',
              Accept: 'application/json, text/event-stream',
              'MCP-Protocol-Version': modernVersion,
              'Mcp-Method': 'tools/call',
              'Mcp-Name': 'quick',
              'Content-Length': body.length,
            },
          },
          (response) => {
            const chunks: Buffer[] = [];
            response.on('data', (chunk: Buffer) => chunks.push(chunk));
            response.on('end', () => {
              const answer = JSON.parse(Buffer.concat(chunks).toString()) as { result?: { taskId?: string } };
              if (typeof answer.result?.taskId === 'string') resolve(answer.result.taskId);
              else reject(new Error(JSON.stringify(answer)));
            });
          },
        );
        request.on('error', reject);
        request.end(body);
      });
    const create = async (path: string, count: number): Promise<string[]> => {
      const ids: string[] = [];
      let started = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (started < count) {
            started++;
            ids.push(await call(path));
          }
        }),
      );
      return ids;
    };
    const settled = async (mount: McpMount) => {
      const store = mount.tasks!.store as { size?: number };
      while (store.size !== 0 || mount.tasks!.runningCount !== 0)
        await new Promise((resolve) => setTimeout(resolve, 100));
    };

    // Warm up both paths (code, pools, caches), and let the warm-up tasks go.
    const warm = await create('/held', 200);
    await create('/expiring', 1_000);
    for (const taskId of warm) await held.tasks!.store.expire(taskId);
    await settled(held);
    await settled(expiring);
    const baseline = await heapUsed();

    // What a held task takes: 1,000 of them, finished, kept until they are measured.
    const kept = await create('/held', 1_000);
    while (held.tasks!.runningCount > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    const perTaskBytes = ((await heapUsed()) - baseline) / kept.length;
    assert.ok(perTaskBytes > 0, `a held task takes ${perTaskBytes} bytes`);
    for (const taskId of kept) assert.equal(await held.tasks!.store.expire(taskId), true);
    await settled(held);

    // 10,000 tasks that expire 1 s after they were created.
    const created = await create('/expiring', 10_000);
    assert.equal(new Set(created).size, 10_000, 'task ids are unique');
    await settled(expiring);
    const residual = (await heapUsed()) - baseline;
    const bound = 500 * perTaskBytes;
    t.diagnostic(
      `held task ${Math.round(perTaskBytes)} B; residual after 10,000 expired ${Math.round(residual / 1024)} KiB (bound ${Math.round(bound / 1024)} KiB)`,
    );
    assert.ok(residual < bound, `the heap kept ${residual} bytes, more than 500 held tasks take (${bound})`);
    assert.equal(await expiring.tasks!.store.get(created[0]!), undefined);
  },
);
