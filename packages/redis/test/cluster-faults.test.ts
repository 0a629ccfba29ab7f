import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type Cluster, clusterForSuite, until, withoutCluster } from './cluster-processes.js';
import { sha256, upload } from './cluster-clients.js';

const nodeAt = async (url: string) => ((await (await fetch(`${url}/ping`)).json()) as { node: string }).node;

// One cluster for both tests, in order: n2 is frozen and thawed, then killed.
/** Skipped, with the reason, where Redis or HAProxy is not installed. */
const suite = { timeout: 110_000, skip: withoutCluster };

describe('three demo nodes behind HAProxy round-robin: a frozen node, a killed node', suite, () => {
  const sharedCluster = clusterForSuite();

  it('goes on serving through the others while a node is frozen, and takes it back once it thaws', async (t) => {
    const cluster = sharedCluster();
    const [n1, n2] = cluster.nodes as [Cluster['nodes'][0], Cluster['nodes'][0]];
    const legacy = new Client({ name: 'cluster-frozen', version: '1.0.0' });
    await legacy.connect(new StreamableHTTPClientTransport(new URL(`${n1.url}/mcp`)));
    t.after(() => legacy.close());
    // SIGSTOP: the node still accepts connections but answers nothing (a slow, stuck machine).
    n2.child.kill('SIGSTOP');
    t.after(() => {
      if (n2.child.exitCode === null && n2.child.signalCode === null) n2.child.kill('SIGCONT');
    });
    // HAProxy's health checks take it out of rotation; a request sent to it meanwhile waits for it.
    const stuck: Array<Promise<unknown>> = [];
    await until(
      async () => {
        const answers = await Promise.race([
          Promise.all([0, 1, 2].map(() => nodeAt(cluster.url))),
          new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 1_000)),
        ]);
        if (answers === undefined) {
          stuck.push(fetch(`${cluster.url}/ping`).then((response) => response.text()));
          return false;
        }
        return !answers.includes('n2');
      },
      'the balancer to route around the frozen node',
      30_000,
    );
    const served = new Set<string>();
    for (let i = 0; i < 9; i++) served.add(await nodeAt(cluster.url));
    assert.deepEqual([...served].sort(), ['n1', 'n3']);
    assert.ok((await legacy.listTools()).tools.length > 0, 'a session on a live node is untouched');
    n2.child.kill('SIGCONT');
    await until(async () => (await nodeAt(cluster.url)) === 'n2', 'n2 back in rotation', 30_000);
    await Promise.all(stuck);
  });

  it('resumes an upload through the others when a node is killed mid-upload, and a dead node’s session answers 404', async () => {
    const cluster = sharedCluster();
    const victim = cluster.nodes[1]!;
    // A session held by the node that is about to die.
    const initialize = await fetch(`${victim.url}/mcp`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'doomed', version: '1' } },
      }),
    });
    await initialize.text();
    const sessionId = initialize.headers.get('mcp-session-id')!;
    assert.ok(sessionId);

    const data = randomBytes(4 * 1024 * 1024);
    const acknowledged: number[] = [];
    const servedBy: string[] = [];
    let killed: Promise<void> | undefined;
    let chunksBeforeKill = 0;
    const id = await upload(cluster, data, {
      chunkSize: 128 * 1024,
      servedBy,
      onChunk: (offset) => {
        acknowledged.push(offset);
        if (offset >= data.length / 3 && killed === undefined) {
          chunksBeforeKill = acknowledged.length;
          killed = victim.kill();
        }
      },
    });
    await killed;
    assert.ok(acknowledged.length - chunksBeforeKill >= 10, 'most of the upload went on after the kill');
    assert.equal(victim.child.signalCode, 'SIGKILL');
    assert.ok(servedBy.includes(victim.name), `${victim.name} took chunks before it died: ${servedBy.join(' ')}`);
    assert.ok(!servedBy.slice(-10).includes(victim.name), `the others took the rest: ${servedBy.join(' ')}`);
    assert.equal(
      sha256(await readFile(join(cluster.dataDir, 'uploads', id))),
      sha256(data),
      'nothing acknowledged lost',
    );

    // Any node: the session's node is gone, so the session is unknown (the client starts over).
    for (const node of [cluster.nodes[0]!, cluster.nodes[2]!]) {
      const answer = await fetch(`${node.url}/mcp`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json, text/event-stream',
          'Mcp-Session-Id': sessionId,
          'MCP-Protocol-Version': '2025-06-18',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
      });
      await answer.text();
      assert.equal(answer.status, 404);
    }
  });
});
