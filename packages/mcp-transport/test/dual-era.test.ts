// An SDK 2.x server on one /mcp endpoint serving both protocol eras, inline and on four workers,
// with the SDK 2.x client in each negotiation mode: 2025 sessions, 2026-07-28 stateless requests,
// multi-round-trip requests and listen streams whose retries and events come from other workers.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/client';
import { abortedUri, waitingUri, watchedUri } from './fixtures/tools-v2.js';
import { textOf, type Mode } from './helpers.js';
import { answerOf, connectV2Client, modernPost, startMcpV2 } from './helpers-v2.js';

interface Where {
  threadId: number;
  era: string;
  id: string;
  transport: string;
  protocolVersion: string | null;
  sessionId: string | null;
  hasRequest: boolean;
}

async function where(client: Client): Promise<Where> {
  return JSON.parse(textOf(await client.callTool({ name: 'where', arguments: {} }))) as Where;
}

/** Resolves once `probe` holds, polling; rejects after `timeoutMs`. */
async function waitFor(probe: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The payload of a requestState minted by the SDK codec (signed, not encrypted: `v1.<base64url JSON>.<mac>`). */
function statePayload(state: string): { askedOn: number } {
  const body = state.split('.')[1]!;
  return (JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { p: { askedOn: number } }).p;
}

for (const mode of ['inline', 'threaded'] as Mode[]) {
  describe(`SDK 2.x server, both eras on /mcp (${mode})`, () => {
    test('SDK 2.x client, default mode: a 2025 session; progress; input_required becomes a real elicitation', async (t) => {
      const { url } = await startMcpV2(t, mode);
      const client = await connectV2Client(t, url, 'default');
      assert.equal(client.getProtocolEra(), 'legacy');
      const first = await where(client);
      assert.equal(first.era, 'legacy');
      assert.equal(first.protocolVersion, '2025-11-25');
      assert.equal(first.sessionId, first.id, 'the session id reaches the tool');
      assert.ok(first.hasRequest, 'SDK 2.x tools see the HTTP request as ctx.http.req');
      if (mode === 'threaded') assert.notEqual(first.threadId, 0);
      assert.equal((await where(client)).threadId, first.threadId, 'a session stays on its worker');
      const progress: number[] = [];
      const counted = await client.callTool(
        { name: 'count', arguments: { steps: 3, delayMs: 5 } },
        {
          onprogress: (p) => progress.push(p.progress),
        },
      );
      assert.match(textOf(counted), /^counted to 3/);
      assert.deepEqual(progress, [1, 2, 3]);
      const confirmed = JSON.parse(textOf(await client.callTool({ name: 'confirm', arguments: {} }))) as {
        ok: boolean;
      };
      assert.equal(confirmed.ok, true);
      const list = await client.listTools();
      assert.equal((list as { ttlMs?: number }).ttlMs, undefined, 'no caching hints in the 2025 eras');
    });

    for (const negotiation of ['auto', 'pin'] as const) {
      test(`SDK 2.x client, ${negotiation} mode: 2026-07-28 without a session; caching hints, progress, input_required`, async (t) => {
        const { url, server } = await startMcpV2(t, mode);
        const client = await connectV2Client(t, url, negotiation);
        assert.equal(client.getProtocolEra(), 'modern');
        assert.equal(client.getNegotiatedProtocolVersion(), '2026-07-28');
        const first = await where(client);
        assert.equal(first.era, 'modern');
        assert.equal(first.sessionId, null);
        assert.equal(first.protocolVersion, '2026-07-28');
        const second = await where(client);
        assert.notEqual(second.id, first.id, 'every 2026 request gets its own server');
        assert.equal(server.stats().sessions, 0, 'no session is bound');
        const list = (await client.listTools()) as { ttlMs?: number; cacheScope?: string; tools: unknown[] };
        assert.equal(list.ttlMs, 60_000);
        assert.equal(list.cacheScope, 'public');
        const progress: number[] = [];
        const counted = await client.callTool(
          { name: 'count', arguments: { steps: 3, delayMs: 5 } },
          {
            onprogress: (p) => progress.push(p.progress),
          },
        );
        assert.match(textOf(counted), /^counted to 3/);
        assert.deepEqual(progress, [1, 2, 3], 'progress streams on the request (SSE, relayed from workers)');
        const confirmed = JSON.parse(textOf(await client.callTool({ name: 'confirm', arguments: {} }))) as {
          ok: boolean;
        };
        assert.equal(confirmed.ok, true);
      });
    }

    test('subscriptions/listen: changes raised on other threads reach the stream, filtered as asked', async (t) => {
      const { url } = await startMcpV2(t, mode);
      const listener = await connectV2Client(t, url, 'pin');
      const toolsChanged: number[] = [];
      const updated: string[] = [];
      listener.setNotificationHandler('notifications/tools/list_changed', () => {
        toolsChanged.push(Date.now());
      });
      listener.setNotificationHandler('notifications/resources/updated', (notification) => {
        updated.push(notification.params.uri);
      });
      const subscription = await listener.listen({ toolsListChanged: true, resourceSubscriptions: [watchedUri] });
      t.after(() => subscription.close());
      assert.equal(subscription.honoredFilter.toolsListChanged, true);
      const caller = await connectV2Client(t, url, 'pin');
      // An update of a URI the stream did not ask for is filtered out (only its tool list change gets through).
      await caller.callTool({ name: 'touch', arguments: { uri: 'test://other' } });
      // Four at once, each holding its worker a while: they run on different workers.
      const touches = await Promise.all(
        [0, 1, 2, 3].map(() =>
          caller
            .callTool({ name: 'touch', arguments: { holdMs: mode === 'threaded' ? 200 : 0, uri: watchedUri } })
            .then((result) => (JSON.parse(textOf(result)) as { threadId: number }).threadId),
        ),
      );
      await waitFor(() => toolsChanged.length === 5 && updated.length === 4, 'five list changes and four updates');
      assert.deepEqual(updated, [watchedUri, watchedUri, watchedUri, watchedUri]);
      if (mode === 'threaded') {
        const threads = new Set(touches);
        t.diagnostic(`changes raised on threads ${[...threads].join(', ')}`);
        assert.ok(threads.size >= 2, `the four touches ran on ${threads.size} thread(s)`);
        assert.ok(!threads.has(0), 'tools run on workers');
      }
    });

    test('input_required round trip with raw requests: the retry verifies on any worker; tampered state is refused', async (t) => {
      const { url } = await startMcpV2(t, mode);
      const round1 = await modernPost(url, 'tools/call', { name: 'confirm', arguments: {} }, { id: 'r1' });
      assert.equal(round1.status, 200);
      const asked = (await answerOf(round1)) as {
        id: string;
        result: { resultType: string; inputRequests: Record<string, unknown>; requestState: string };
      };
      assert.equal(asked.id, 'r1');
      assert.equal(asked.result.resultType, 'input_required');
      assert.ok('confirm' in asked.result.inputRequests);
      const { askedOn } = statePayload(asked.result.requestState);
      const retry = (id: string, requestState: string, holdMs: number) =>
        modernPost(
          url,
          'tools/call',
          {
            name: 'confirm',
            arguments: { holdMs },
            inputResponses: { confirm: { action: 'accept', content: { ok: true } } },
            requestState,
          },
          { id },
        ).then(answerOf);
      // Four retries at once (a retry may be sent again), each holding its worker: they land on different workers.
      const answers = await Promise.all(
        ['a', 'b', 'c', 'd'].map((id) => retry(id, asked.result.requestState, mode === 'threaded' ? 200 : 0)),
      );
      const answeredOn = answers.map((answer) => {
        const result = answer['result'] as { resultType: string; content: Array<{ text: string }> };
        assert.equal(result.resultType, 'complete');
        const done = JSON.parse(result.content[0]!.text) as { askedOn: number; answeredOn: number; ok: boolean };
        assert.equal(done.askedOn, askedOn, 'the handler reads the verified state');
        assert.equal(done.ok, true);
        return done.answeredOn;
      });
      if (mode === 'threaded') {
        t.diagnostic(`asked on thread ${askedOn}, answered on ${answeredOn.join(', ')}`);
        assert.ok(
          answeredOn.some((thread) => thread !== askedOn),
          'a retry completed on another worker than the one that minted its state',
        );
      }
      const [head, body, mac] = asked.result.requestState.split('.');
      const forged = `${head}.${Buffer.from(JSON.stringify({ p: { askedOn: -1 }, exp: 9_999_999_999 })).toString('base64url')}.${mac}`;
      assert.notEqual(forged, `${head}.${body}.${mac}`);
      const refused = (await retry('forged', forged, 0)) as { id: string; error?: { code: number; message: string } };
      assert.equal(refused.id, 'forged');
      assert.equal(refused.error?.code, -32602);
      assert.match(refused.error?.message ?? '', /requestState/);
    });

    test('closing a 2026 request stream cancels the tool (its signal aborts), on workers too', async (t) => {
      const { url } = await startMcpV2(t, mode);
      const observer = await connectV2Client(t, url, 'pin');
      const aborted: string[] = [];
      observer.setNotificationHandler('notifications/resources/updated', (notification) => {
        aborted.push(notification.params.uri);
      });
      const subscription = await observer.listen({ resourceSubscriptions: [abortedUri] });
      t.after(() => subscription.close());
      const client = await connectV2Client(t, url, 'pin');
      const controller = new AbortController();
      let progressed = false;
      const call = client.callTool(
        { name: 'wait_for_abort', arguments: {} },
        {
          signal: controller.signal,
          onprogress: () => {
            progressed = true;
          },
        },
      );
      call.catch(() => {});
      await waitFor(() => progressed, 'the first progress notification (the answer is a stream now)');
      controller.abort('test cancels');
      await assert.rejects(call);
      await waitFor(() => aborted.length === 1, 'the tool to see its signal abort');
      assert.deepEqual(aborted, [abortedUri]);
    });

    test('closing a 2026 request whose answer has not started streaming cancels the tool too, on workers too', async (t) => {
      const { url } = await startMcpV2(t, mode);
      const observer = await connectV2Client(t, url, 'pin');
      const seen: string[] = [];
      observer.setNotificationHandler('notifications/resources/updated', (notification) => {
        seen.push(notification.params.uri);
      });
      const subscription = await observer.listen({ resourceSubscriptions: [waitingUri, abortedUri] });
      t.after(() => subscription.close());
      const client = await connectV2Client(t, url, 'pin');
      const controller = new AbortController();
      // No progress token: nothing is sent before the result, so the answer would be JSON.
      const call = client.callTool({ name: 'wait_for_abort', arguments: {} }, { signal: controller.signal });
      call.catch(() => {});
      await waitFor(() => seen.includes(waitingUri), 'the tool to start waiting');
      controller.abort('test cancels');
      await assert.rejects(call);
      await waitFor(() => seen.includes(abortedUri), 'the tool to see its signal abort');
      assert.deepEqual(seen, [waitingUri, abortedUri]);
    });

    test('2025 sessions hear the mount’s change events from any thread: list changes, and updates they subscribed to', async (t) => {
      const { url } = await startMcpV2(t, mode);
      const subscribed = await connectV2Client(t, url, 'default');
      const unsubscribed = await connectV2Client(t, url, 'default');
      const seen = { subscribed: [] as string[], unsubscribed: [] as string[] };
      for (const [client, list] of [
        [subscribed, seen.subscribed],
        [unsubscribed, seen.unsubscribed],
      ] as const) {
        client.setNotificationHandler('notifications/tools/list_changed', () => {
          list.push('tools');
        });
        client.setNotificationHandler('notifications/resources/updated', (notification) => {
          list.push(notification.params.uri);
        });
      }
      await subscribed.subscribeResource({ uri: watchedUri });
      const sessionThreads = [(await where(subscribed)).threadId, (await where(unsubscribed)).threadId];
      const caller = await connectV2Client(t, url, 'pin');
      const touched = JSON.parse(textOf(await caller.callTool({ name: 'touch', arguments: {} }))) as {
        threadId: number;
      };
      await waitFor(
        () => seen.subscribed.length === 2 && seen.unsubscribed.length === 1,
        'the sessions to hear the change',
      );
      assert.deepEqual(seen.subscribed.sort(), ['test://watched', 'tools']);
      assert.deepEqual(seen.unsubscribed, ['tools']);
      t.diagnostic(`raised on thread ${touched.threadId}; sessions on ${sessionThreads.join(', ')}`);
      if (mode === 'threaded') {
        // New sessions go to the worker holding the fewest, so the two are apart and one of them is not where the change was raised.
        assert.notEqual(sessionThreads[0], sessionThreads[1]);
        assert.ok(sessionThreads.some((thread) => thread !== touched.threadId));
      }
    });
  });
}
