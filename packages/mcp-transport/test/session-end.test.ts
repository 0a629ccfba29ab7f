// When a session ends, the tool calls still running in it see `extra.signal` abort: on DELETE
// (inline and threaded), and when the mount closes. (A dropped POST stream that is not resumed
// aborts its calls too: sessions.test.ts.)
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { messagesOf, postMcp, rawInitialize, readEvents, startMcp, streamEnded, textOf, type Mode } from './helpers.js';

const modern = { 'MCP-Protocol-Version': '2025-11-25' };

function call(id: number, name: string): object {
  return { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {} } };
}

/** Cancellations seen by wait_for_abort on the thread of the session `id`, through a new call in it. */
async function abortedIn(url: string, id: string, requestId: number): Promise<number> {
  const [answer] = (await messagesOf(
    await postMcp(url, call(requestId, 'aborted_count'), { ...modern, 'Mcp-Session-Id': id }),
  )) as Array<{ result: unknown }>;
  return Number(textOf(answer!.result));
}

async function waitFor(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

for (const mode of ['inline', 'threaded'] as Mode[]) {
  describe(`extra.signal when the session ends (${mode})`, () => {
    test('DELETE aborts the calls still running in the session, and their stream ends', async (t) => {
      // One worker: the session that watches the count lives on the same thread as the one deleted.
      const { url } = await startMcp(t, mode, {}, mode === 'threaded' ? { threads: 1 } : {});
      const watcher = await rawInitialize(url);
      const before = await abortedIn(url, watcher, 1);
      const id = await rawInitialize(url);
      const pending = await postMcp(url, call(7, 'wait_for_abort'), { ...modern, 'Mcp-Session-Id': id });
      assert.equal(pending.status, 200);
      // The call is running once its stream is open (the priming event came first).
      await readEvents(pending, (events) => events.length > 0);

      const deleted = await fetch(new URL('/mcp', url), { method: 'DELETE', headers: { 'Mcp-Session-Id': id } });
      assert.equal(deleted.status, 200);
      await deleted.text();
      await waitFor('the aborted call to be counted', async () => (await abortedIn(url, watcher, 2)) === before + 1);
      await readEvents(pending, () => false, 5_000);
      assert.ok(streamEnded(pending), "the call's stream ended with its session");
      const after = await postMcp(url, call(8, 'echo'), { ...modern, 'Mcp-Session-Id': id });
      assert.equal(after.status, 404, 'the session is gone');
      await after.text();
    });
  });
}

test('inline: closing the mount aborts the calls running in every session', async (t) => {
  const { url, mount } = await startMcp(t, 'inline');
  const ids = [await rawInitialize(url), await rawInitialize(url)];
  const watcher = await rawInitialize(url);
  const before = await abortedIn(url, watcher, 1);
  const pending = await Promise.all(
    ids.map((id, i) => postMcp(url, call(10 + i, 'wait_for_abort'), { ...modern, 'Mcp-Session-Id': id })),
  );
  for (const response of pending) await readEvents(response, (events) => events.length > 0);
  await mount!.close();
  assert.equal(mount!.sessionCount, 0);
  // The watcher was closed too: count through a fresh session on the same (only) thread.
  const fresh = await rawInitialize(url);
  assert.equal(await abortedIn(url, fresh, 2), before + 2, 'both running calls saw their signal abort');
});
