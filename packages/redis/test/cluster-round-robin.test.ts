import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { EventSource } from 'eventsource';
import { type Cluster, clusterForSuite, startBalancer, until, withoutCluster } from './cluster-processes.js';
import {
  connect2026,
  countByNode,
  forwardedTotal,
  latestBroadcast,
  listenToTasks,
  recordingFetch,
  rpc2026,
  sha256,
  textOf,
  upload,
} from './cluster-clients.js';

// One cluster (Redis, three demo nodes, HAProxy round-robin) for every test of this file.
/** Skipped, with the reason, where Redis or HAProxy is not installed. */
const suite = { timeout: 110_000, skip: withoutCluster };

describe('three demo nodes behind HAProxy, coordinated through Redis', suite, () => {
  const sharedCluster = clusterForSuite();

  it('serves a 2025 SDK session with no stickiness, a legacy SSE session, cross-node broadcasts, and a tus upload over every node', async (t) => {
    const cluster = sharedCluster();
    const [n1, , n3] = cluster.nodes as [Cluster['nodes'][0], Cluster['nodes'][0], Cluster['nodes'][0]];

    // A page on n1 hears a broadcast raised through a session on n3.
    const page = new EventSource(`${n1.url}/events`);
    t.after(() => page.close());
    const broadcasts: Array<{ message: string; node?: string }> = [];
    page.addEventListener('broadcast', (event) =>
      broadcasts.push(JSON.parse(event.data as string) as { message: string; node?: string }),
    );
    await new Promise((resolve) => page.addEventListener('hello', resolve));

    // 2025 Streamable HTTP through the balancer: its requests land on every node and find the session.
    const forwardedBefore = await forwardedTotal(cluster);
    const client = new Client({ name: 'cluster-2025', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${cluster.url}/mcp`)));
    t.after(() => client.close());
    for (let i = 0; i < 6; i++) assert.ok((await client.listTools()).tools.some((tool) => tool.name === 'broadcast'));
    assert.match(
      textOf(await client.callTool({ name: 'broadcast', arguments: { message: 'via balancer' } })),
      /via balancer/,
    );
    assert.ok(
      (await forwardedTotal(cluster)) - forwardedBefore >= 4,
      'requests reached nodes that do not hold the session',
    );

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
    const servedBy: string[] = [];
    const id = await upload(cluster, data, { chunkSize: 256 * 1024, servedBy });
    const chunks = countByNode(servedBy);
    for (const node of ['n1', 'n2', 'n3'])
      assert.ok((chunks[node] ?? 0) >= 3, `${node} took chunks: ${servedBy.join(' ')}`);
    assert.equal(sha256(await readFile(join(cluster.dataDir, 'uploads', id))), sha256(data));
    const hashed = JSON.parse(textOf(await client.callTool({ name: 'hash_upload', arguments: { uploadId: id } }))) as {
      sha256: string;
    };
    assert.equal(hashed.sha256, sha256(data));
  });

  it('serves 2026-07-28 clients on every node: calls spread, confirmations verified on another node, notifications reach listen streams and 2025 subscribers elsewhere', async (t) => {
    const cluster = sharedCluster();
    const [n1, n2, n3] = cluster.nodes as [Cluster['nodes'][0], Cluster['nodes'][0], Cluster['nodes'][0]];
    const { client, asked, servedBy } = await connect2026(t, cluster.url);
    assert.ok((await client.listTools()).tools.some((tool) => tool.name === 'order_book'));
    for (let i = 0; i < 9; i++) {
      const result = await client.callTool({ name: 'cpu_work', arguments: { rounds: 1 } });
      assert.equal(result.isError, undefined, textOf(result));
    }
    const calls = countByNode(servedBy.filter((served) => served.method === 'tools/call').map((served) => served.node));
    for (const node of ['n1', 'n2', 'n3'])
      assert.ok((calls[node] ?? 0) >= 2, `${node} served calls: ${JSON.stringify(calls)}`);

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

  it('keeps a 2025 session on its node with the sticky HAProxy configuration (nothing forwarded)', async (t) => {
    const cluster = sharedCluster();
    // The same nodes behind a second HAProxy with the stick table.
    const sticky = await startBalancer(t, cluster.nodes, 'haproxy-sticky.cfg');
    const forwardedBefore = await forwardedTotal(cluster);
    const recording = recordingFetch();
    const client = new Client({ name: 'cluster-sticky', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${sticky}/mcp`), { fetch: recording.fetch }));
    t.after(() => client.close());
    for (let i = 0; i < 6; i++) assert.ok((await client.listTools()).tools.length > 0);
    await client.callTool({ name: 'broadcast', arguments: { message: 'sticky' } });
    const nodesServing = new Set(recording.servedBy.map((served) => served.node));
    assert.ok(recording.servedBy.length >= 8, 'initialize, six lists and a call, at least');
    assert.equal(
      nodesServing.size,
      1,
      `the stick table sent every request to the session’s node: ${[...nodesServing].join(' ')}`,
    );
    assert.equal(await forwardedTotal(cluster), forwardedBefore, 'nothing forwarded');
    // Requests without a session still go round-robin.
    const nodes = new Set<string>();
    for (let i = 0; i < 6; i++) nodes.add(((await (await fetch(`${sticky}/ping`)).json()) as { node: string }).node);
    assert.equal(nodes.size, 3);
  });

  it('keeps 2026-07-28 tasks in Redis: a task is polled through other nodes than its creator and completes, another is cancelled and heard on nodes that did not create it', async (t) => {
    const cluster = sharedCluster();
    // cpu_work runs as a task for a client that declared the extension; 3,000,000 rounds take a second or more.
    const created = await rpc2026(cluster.url, 'tools/call', {
      name: 'cpu_work',
      arguments: { rounds: 3_000_000, chunks: 30 },
    });
    assert.equal(created.result['resultType'], 'task', JSON.stringify(created.result));
    const taskId = created.result['taskId'] as string;
    // Polled through the balancer (round-robin: the first poll reaches another node than the
    // creator's, which knows the task only through Redis) at twice the suggested rate, within the poll budget.
    const polls: Array<{ node: string | null; status: unknown }> = [];
    let task: Record<string, unknown>;
    do {
      if (polls.length > 0) await new Promise((resolve) => setTimeout(resolve, Number(task!['pollIntervalMs']) / 2));
      const polled = await rpc2026(cluster.url, 'tasks/get', { taskId });
      task = polled.result;
      polls.push({ node: polled.node, status: task['status'] });
    } while (task['status'] === 'working' && polls.length < 100);
    const pollNodes = new Set(polls.map((poll) => poll.node));
    assert.equal(task['status'], 'completed', JSON.stringify(polls));
    assert.ok(pollNodes.size >= 2, `polls served by ${JSON.stringify(polls)}`);
    assert.ok(
      polls.some((poll) => poll.node !== created.node),
      `a node other than ${created.node} answered: ${JSON.stringify(polls)}`,
    );
    // The tool's result inlined in the completed task.
    const result = task['result'] as { resultType: string; structuredContent: { rounds: number; digest: string } };
    assert.equal(result.resultType, 'complete');
    assert.equal(result.structuredContent.rounds, 3_000_000);
    assert.match(result.structuredContent.digest, /^[0-9a-f]{64}$/);

    // A long one, listened to on one node that did not create it and cancelled through the other.
    const long = await rpc2026(cluster.url, 'tools/call', {
      name: 'cpu_work',
      arguments: { rounds: 30_000_000, chunks: 300 },
    });
    const longId = long.result['taskId'] as string;
    const [listenNode, cancelNode] = cluster.nodes.filter((node) => node.name !== long.node);
    const heard = await listenToTasks(t, listenNode!.url, [longId]);
    await until(() => heard.some((state) => state['status'] === 'working'), `the working task on ${listenNode!.name}`);
    const ack = await rpc2026(cancelNode!.url, 'tasks/cancel', { taskId: longId });
    assert.equal(ack.result['resultType'], 'complete');
    assert.equal((await rpc2026(cluster.url, 'tasks/get', { taskId: longId })).result['status'], 'cancelled');
    await until(
      () => heard.some((state) => state['status'] === 'cancelled'),
      `the cancellation on ${listenNode!.name}`,
    );
    assert.ok(heard.every((state) => state['taskId'] === longId));
  });
});
