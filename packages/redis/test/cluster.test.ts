import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpTransportV2 } from '@modelcontextprotocol/client';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { EventSource } from 'eventsource';
import { Upload } from 'tus-js-client';
import { startCluster, statsOf, until, type Cluster } from './cluster-processes.js';

function textOf(result: unknown): string {
  return (result as { content: Array<{ text?: string }> }).content[0]?.text ?? '';
}

async function forwardedTotal(cluster: Cluster): Promise<number> {
  let total = 0;
  for (const node of cluster.nodes) total += (await statsOf(node)).sessionDirectory?.forwarded ?? 0;
  return total;
}

function upload(cluster: Cluster, data: Buffer, options: { chunkSize: number; onChunk?: (offset: number) => void }) {
  return new Promise<string>((resolve, reject) => {
    const tus = new Upload(data, {
      endpoint: `${cluster.url}/files/`,
      chunkSize: options.chunkSize,
      retryDelays: [100, 300, 500, 1_000, 2_000, 3_000, 5_000, 5_000],
      metadata: { filename: 'cluster.bin' },
      onChunkComplete: (_size, offset) => options.onChunk?.(offset),
      onSuccess: () => resolve(tus.url!.split('/').pop()!),
      onError: reject,
    });
    tus.start();
  });
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** An SDK 2.x client pinned to 2026-07-28 (stateless requests), accepting every confirmation it is asked. */
async function connect2026(t: TestContext, url: string): Promise<{ client: ClientV2; asked: string[] }> {
  const client = new ClientV2(
    { name: 'cluster-2026', version: '1.0.0' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } }, capabilities: { elicitation: { form: {} } } },
  );
  const asked: string[] = [];
  client.setRequestHandler('elicitation/create', (request) => {
    asked.push(request.params.message);
    return { action: 'accept', content: { confirm: true } };
  });
  await client.connect(new HttpTransportV2(new URL(`${url}/mcp`)));
  t.after(() => client.close());
  assert.equal(client.getNegotiatedProtocolVersion(), '2026-07-28');
  return { client, asked };
}

const latestBroadcast = 'demo://broadcasts/latest';

describe('three demo nodes behind HAProxy, coordinated through Redis', { timeout: 180_000 }, () => {
  it('serves a 2025 SDK session, a legacy SSE session and cross-node broadcasts, and a tus upload over every node', async (t) => {
    const cluster = await startCluster(t);
    const [n1, n2, n3] = cluster.nodes as [Cluster['nodes'][0], Cluster['nodes'][0], Cluster['nodes'][0]];

    // A page on n1 hears a broadcast raised through a session on n3.
    const page = new EventSource(`${n1.url}/events`);
    t.after(() => page.close());
    const broadcasts: Array<{ message: string; node?: string }> = [];
    page.addEventListener('broadcast', (event) =>
      broadcasts.push(JSON.parse(event.data as string) as { message: string; node?: string }),
    );
    await new Promise((resolve) => page.addEventListener('hello', resolve));

    // 2025 Streamable HTTP through the balancer: its requests land on every node and find the session.
    const client = new Client({ name: 'cluster-2025', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${cluster.url}/mcp`)));
    t.after(() => client.close());
    for (let i = 0; i < 6; i++) assert.ok((await client.listTools()).tools.some((tool) => tool.name === 'broadcast'));
    assert.match(
      textOf(await client.callTool({ name: 'broadcast', arguments: { message: 'via balancer' } })),
      /via balancer/,
    );
    assert.ok((await forwardedTotal(cluster)) >= 4, 'requests reached nodes that do not hold the session');

    const direct = new Client({ name: 'cluster-n3', version: '1.0.0' });
    await direct.connect(new StreamableHTTPClientTransport(new URL(`${n3.url}/mcp`)));
    t.after(() => direct.close());
    await direct.callTool({ name: 'broadcast', arguments: { message: 'from n3' } });
    await until(() => broadcasts.some((b) => b.message === 'from n3'), 'the broadcast from n3 on the page of n1');
    assert.equal(broadcasts.find((b) => b.message === 'from n3')?.node, 'n3', 'the page shows which node served it');

    // Legacy HTTP+SSE: the stream stays on one node, its /messages POSTs go round-robin.
    const legacy = new Client({ name: 'cluster-legacy', version: '1.0.0' });
    await legacy.connect(new SSEClientTransport(new URL(`${cluster.url}/sse`)));
    t.after(() => legacy.close());
    const before = await forwardedTotal(cluster);
    for (let i = 0; i < 4; i++) assert.ok((await legacy.listTools()).tools.length > 0);
    assert.ok((await forwardedTotal(cluster)) - before >= 2, 'messages forwarded to the node holding the stream');

    // tus: one chunk per request, round-robin over three nodes; the result is byte-identical.
    const data = randomBytes(3 * 1024 * 1024 + 123);
    const handledBefore = await Promise.all(cluster.nodes.map(async (node) => (await statsOf(node)).requestsHandled));
    const id = await upload(cluster, data, { chunkSize: 256 * 1024 });
    const handledAfter = await Promise.all(cluster.nodes.map(async (node) => (await statsOf(node)).requestsHandled));
    handledAfter.forEach((count, i) => assert.ok(count - handledBefore[i]! >= 4, `node n${i + 1} took chunks`));
    assert.equal(sha256(await readFile(join(cluster.dataDir, 'uploads', id))), sha256(data));
    const hashed = JSON.parse(textOf(await client.callTool({ name: 'hash_upload', arguments: { uploadId: id } }))) as {
      sha256: string;
    };
    assert.equal(hashed.sha256, sha256(data));
    void n2;
  });

  it('serves 2026-07-28 clients on every node: calls spread, confirmations verified on another node, notifications reach listen streams and 2025 subscribers elsewhere', async (t) => {
    const cluster = await startCluster(t);
    const [n1, n2, n3] = cluster.nodes as [Cluster['nodes'][0], Cluster['nodes'][0], Cluster['nodes'][0]];
    const { client, asked } = await connect2026(t, cluster.url);
    const before = await Promise.all(cluster.nodes.map(async (node) => (await statsOf(node)).requestsHandled));
    assert.ok((await client.listTools()).tools.some((tool) => tool.name === 'order_book'));
    // Lists carry caching hints (the client may answer them itself): count tool calls.
    for (let i = 0; i < 9; i++) {
      const result = await client.callTool({ name: 'cpu_work', arguments: { rounds: 1 } });
      assert.equal(result.isError, undefined, textOf(result));
    }
    const after = await Promise.all(cluster.nodes.map(async (node) => (await statsOf(node)).requestsHandled));
    after.forEach((count, i) => assert.ok(count - before[i]! >= 3, `node n${i + 1} served 2026 requests`));

    // input_required from one node, the retry with its requestState through the next (round-robin).
    const ordered = await client.callTool({ name: 'order_book', arguments: { bookId: 4, quantity: 2 } });
    assert.equal(ordered.isError, undefined, textOf(ordered));
    assert.equal((ordered.structuredContent as { status?: string }).status, 'ordered');
    assert.equal(asked.length, 1);

    // A listen stream on n1 and a 2025 session on n2 that subscribed hear a broadcast made through n3.
    const { client: listener } = await connect2026(t, n1.url);
    const heard2026: string[] = [];
    listener.setNotificationHandler('notifications/resources/updated', (notification) => {
      heard2026.push(notification.params.uri);
    });
    await listener.listen({ resourceSubscriptions: [latestBroadcast] });
    const legacy = new Client({ name: 'cluster-2025-subscriber', version: '1.0.0' });
    const heard2025: string[] = [];
    legacy.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
      heard2025.push(notification.params.uri);
    });
    await legacy.connect(new StreamableHTTPClientTransport(new URL(`${n2.url}/mcp`)));
    t.after(() => legacy.close());
    await legacy.subscribeResource({ uri: latestBroadcast });
    const { client: raiser } = await connect2026(t, n3.url);
    await raiser.callTool({ name: 'broadcast', arguments: { message: 'across the cluster' } });
    await until(() => heard2026.length === 1 && heard2025.length === 1, 'the update on n1 and n2');
    assert.deepEqual([heard2026, heard2025], [[latestBroadcast], [latestBroadcast]]);
    const latest = await listener.readResource({ uri: latestBroadcast });
    assert.match(JSON.stringify(latest.contents), /across the cluster/, 'the resource reads the same on every node');
  });

  it('goes on serving through the others while a node is frozen, and takes it back once it thaws', async (t) => {
    const cluster = await startCluster(t);
    const [n1, n2] = cluster.nodes as [Cluster['nodes'][0], Cluster['nodes'][0]];
    const legacy = new Client({ name: 'cluster-frozen', version: '1.0.0' });
    await legacy.connect(new StreamableHTTPClientTransport(new URL(`${n1.url}/mcp`)));
    t.after(() => legacy.close());
    // SIGSTOP: the node still accepts connections but answers nothing (a slow, stuck machine).
    n2.child.kill('SIGSTOP');
    t.after(() => {
      if (n2.child.exitCode === null) n2.child.kill('SIGCONT');
    });
    // HAProxy's health checks take it out of rotation; a request sent to it meanwhile waits for it.
    const stuck: Array<Promise<unknown>> = [];
    await until(
      async () => {
        const answers = await Promise.race([
          Promise.all(
            [0, 1, 2].map(async () => ((await (await fetch(`${cluster.url}/ping`)).json()) as { node: string }).node),
          ),
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
    for (let i = 0; i < 9; i++) {
      served.add(((await (await fetch(`${cluster.url}/ping`)).json()) as { node: string }).node);
    }
    assert.deepEqual([...served].sort(), ['n1', 'n3']);
    assert.ok((await legacy.listTools()).tools.length > 0, 'a session on a live node is untouched');
    n2.child.kill('SIGCONT');
    await until(
      async () => ((await (await fetch(`${cluster.url}/ping`)).json()) as { node: string }).node === 'n2',
      'n2 back in rotation',
      30_000,
    );
    await Promise.all(stuck);
  });

  it('keeps a 2025 session on its node with the sticky HAProxy configuration (nothing forwarded)', async (t) => {
    const cluster = await startCluster(t, 'haproxy-sticky.cfg');
    const client = new Client({ name: 'cluster-sticky', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${cluster.url}/mcp`)));
    t.after(() => client.close());
    for (let i = 0; i < 6; i++) assert.ok((await client.listTools()).tools.length > 0);
    await client.callTool({ name: 'broadcast', arguments: { message: 'sticky' } });
    assert.equal(await forwardedTotal(cluster), 0, 'the stick table sent every request to the session’s node');
    // Requests without a session still go round-robin.
    const nodes = new Set<string>();
    for (let i = 0; i < 6; i++)
      nodes.add(((await (await fetch(`${cluster.url}/ping`)).json()) as { node: string }).node);
    assert.equal(nodes.size, 3);
  });

  it('resumes an upload through the others when a node is killed mid-upload, and a dead node’s session answers 404', async (t) => {
    const cluster = await startCluster(t);
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
    let killed: Promise<void> | undefined;
    let chunksBeforeKill = 0;
    const id = await upload(cluster, data, {
      chunkSize: 128 * 1024,
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
