// The demo's page in a real browser: Chromium (or Chrome) driven by playwright-core; see browser.ts.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import {
  Client as ClientV2,
  StreamableHTTPClientTransport as HttpTransportV2,
  type JSONRPCMessage,
} from '@modelcontextprotocol/client';
import { createTaskSessionFromClient, type JsonRpcResponse } from '@modelcontextprotocol/ext-tasks/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Page } from 'playwright-core';
import { launchBrowser } from './browser.js';
import { startProgram } from './start-program.js';
import { demoCli, temporaryDir } from './stdio-exchange.js';

// The README's screenshot is refreshed with UPDATE_SCREENSHOT=1; otherwise it goes to .tmp/, so a
// test run leaves the checkout as it was.
const screenshot = fileURLToPath(
  new URL(
    process.env['UPDATE_SCREENSHOT'] === '1' ? '../../apps/demo/screenshot.png' : '../../.tmp/demo-screenshot.png',
    import.meta.url,
  ),
);

interface Session {
  url: string;
  page: Page;
  client: Client;
  /** Console errors and uncaught exceptions of the page. */
  errors: string[];
}

/** Starts the demo with `threads`, runs `before(url)`, then opens the page and an SDK client. */
async function open(
  t: TestContext,
  {
    threads = '1-2',
    before,
    env = {},
  }: { threads?: string; before?: (url: string) => Promise<void>; env?: Record<string, string> } = {},
): Promise<Session> {
  const url = await startProgram(t, demoCli, {
    args: ['--port', '0', '--threads', threads],
    env: { MUMMYX_DEMO_DATA_DIR: temporaryDir(t, 'mummyx-demo-browser-'), ...env },
  });
  await before?.(url);
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${url}/`);
  await page.waitForSelector('body[data-live="true"]', { timeout: 10_000 });
  const client = await connect(t, url);
  return { url, page, client, errors };
}

async function connect(t: TestContext, url: string): Promise<Client> {
  const client = new Client({ name: 'mummyx-browser-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', url)));
  t.after(() => client.close());
  return client;
}

interface PageRecord {
  pings: Array<{ sentAt: number; receivedAt: number; ms: number }>;
  works: Array<{ startedAt: number; finishedAt: number }>;
  /** Every task status the Tasks panel showed, in order. */
  tasks: Array<{ id: string; status: string; statusMessage?: string }>;
}

const tasksExtension = 'io.modelcontextprotocol/tasks';

/**
 * A 2026-07-28 client (SDK 2.x pinned) that declares the Tasks extension, driven by the official
 * client side of the extension (@modelcontextprotocol/ext-tasks). The SDK client refuses a `task`
 * result, so the extension sends its requests itself, framed as the SDK would, by fetch.
 */
async function connectTasks(t: TestContext, url: string) {
  const clientInfo = { name: 'mummyx-browser-test', version: '1.0.0' };
  const clientCapabilities = { extensions: { [tasksExtension]: {} } };
  const client = new ClientV2(clientInfo, {
    versionNegotiation: { mode: { pin: '2026-07-28' } },
    capabilities: clientCapabilities,
  });
  await client.connect(new HttpTransportV2(new URL('/mcp', url)));
  let nextId = 0;
  const session = createTaskSessionFromClient(client, {
    endpointId: url,
    v2RequestFraming: { protocolVersion: '2026-07-28', clientInfo, clientCapabilities },
    rawDispatch: async (request, options): Promise<JsonRpcResponse> => {
      const message = { jsonrpc: '2.0', id: `page-${++nextId}`, ...(request as object) } as JSONRPCMessage & {
        id: string;
        method: string;
        params?: Record<string, unknown>;
      };
      const name = message.method === 'tools/call' ? message.params?.['name'] : message.params?.['taskId'];
      const response = await fetch(new URL('/mcp', url), {
        method: 'POST',
        ...(options?.signal === undefined ? {} : { signal: options.signal }),
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json, text/event-stream',
          'MCP-Protocol-Version': '2026-07-28',
          'Mcp-Method': message.method,
          ...(typeof name === 'string' ? { 'Mcp-Name': name } : {}),
        },
        body: JSON.stringify(message),
      });
      const text = await response.text();
      // A JSON body, or the matching message of an event stream.
      const answers = (response.headers.get('content-type') ?? '').startsWith('text/event-stream')
        ? text
            .split('\n')
            .filter((line) => line.startsWith('data: '))
            .map((line) => JSON.parse(line.slice(6)) as Record<string, unknown>)
        : [JSON.parse(text) as Record<string, unknown>];
      const answer = answers.find((candidate) => candidate['id'] === message.id);
      assert.ok(answer !== undefined, `no answer to ${message.method}: ${text}`);
      if (answer['error'] !== undefined) return { kind: 'error', error: answer['error'] as never };
      return { kind: 'result', result: answer['result'] as never };
    },
  });
  t.after(async () => {
    await session.close().catch(() => {});
    await client.close().catch(() => {});
  });
  return session;
}

/** The statuses the page's Tasks panel showed for `taskId`, in order, repeats folded. */
async function shownStatuses(page: Page, taskId: string): Promise<PageRecord['tasks']> {
  const record = await page.evaluate(() => (globalThis as unknown as { mummyxDemo: PageRecord }).mummyxDemo);
  return record.tasks.filter((task) => task.id === taskId);
}

/** Presses "Run 1 s of blocking work", waits for it to end, and returns what the page recorded. */
async function runBlockingWork(page: Page): Promise<PageRecord> {
  await page.click('#work');
  await page.waitForSelector('body[data-work="done"]', { timeout: 30_000 });
  return page.evaluate(() => (globalThis as unknown as { mummyxDemo: PageRecord }).mummyxDemo);
}

/** The pings the page sent at least `afterMs` into the work and before it ended. */
function pingsDuring(record: PageRecord, afterMs: number): PageRecord['pings'] {
  const work = record.works[0]!;
  return record.pings.filter((ping) => ping.sentAt >= work.startedAt + afterMs && ping.sentAt < work.finishedAt);
}

test('the page shows an SDK client’s session, tool calls and broadcast live, and chats, without console errors', async (t) => {
  const { url, page, client, errors } = await open(t);
  await page.locator('#sessions li', { hasText: 'streamable-http' }).first().waitFor({ timeout: 5_000 });

  const query = await client.callTool({
    name: 'sql_query',
    arguments: {
      sql: 'SELECT b.title, sum(s.quantity) AS sold FROM sales s JOIN books b ON b.id = s.book_id GROUP BY b.id ORDER BY sold DESC LIMIT 1',
    },
  });
  assert.deepEqual((query.structuredContent as { rows: unknown }).rows, [['The Three-Body Problem', 14]]);
  await page.locator('#tools li', { hasText: 'sql_query' }).filter({ hasText: 'finished' }).waitFor({ timeout: 5_000 });

  await client.callTool({ name: 'cpu_work', arguments: { rounds: 300_000, chunks: 3 } });
  await page.locator('#tools li', { hasText: 'cpu_work' }).filter({ hasText: 'finished' }).waitFor({ timeout: 5_000 });

  await client.callTool({ name: 'broadcast', arguments: { message: 'Hello from an MCP client' } });
  await page.locator('#broadcasts li[data-broadcast="Hello from an MCP client"]').waitFor({ timeout: 5_000 });

  await page.fill('#chatText', 'hi from the browser');
  await page.press('#chatText', 'Enter');
  await page.locator('#chat li', { hasText: 'hi from the browser' }).waitFor({ timeout: 5_000 });

  await page.locator('#stats', { hasText: 'workers' }).waitFor({ timeout: 5_000 });
  // The Claude Desktop command as it runs from here: this demo was started as `node <cli.js>`.
  await page.waitForSelector('body[data-info="loaded"]', { timeout: 5_000 });
  assert.equal(
    await page.locator('#claudeCommand').textContent(),
    `node ${realpathSync(demoCli)} claude-config --install --url ${url}/mcp`,
  );
  assert.deepEqual(errors, []);
});

test('a file uploaded on the page (tus) is hashed by hash_upload', async (t) => {
  const { page, client, errors } = await open(t);
  assert.equal(await page.locator('#file').isVisible(), true);
  const content = randomBytes(6 * 1024 * 1024 + 123);
  await page.setInputFiles('#file', { name: 'random.bin', mimeType: 'application/octet-stream', buffer: content });
  await page.waitForSelector('body[data-uploaded]', { timeout: 20_000 });
  const uploadId = await page.getAttribute('body', 'data-uploaded');
  assert.ok(uploadId);
  assert.equal(
    await page.locator('#uploadProgress').evaluate((element) => (element as unknown as { value: number }).value),
    1,
  );
  await page.locator('#tools li', { hasText: 'random.bin' }).waitFor({ timeout: 5_000 });

  const progress: number[] = [];
  const result = await client.callTool({ name: 'hash_upload', arguments: { uploadId } }, undefined, {
    onprogress: (notification) => progress.push(notification.progress),
  });
  assert.equal(result.isError, undefined, JSON.stringify(result));
  assert.deepEqual(result.structuredContent, {
    uploadId,
    bytes: content.length,
    sha256: createHash('sha256').update(content).digest('hex'),
  });
  // One notification per 4 MiB read, and one at the end (which the SDK client may drop when it
  // arrives with the response).
  assert.equal(progress[0], 4 * 1024 * 1024);
  assert.deepEqual(progress, [4 * 1024 * 1024, content.length].slice(0, Math.max(progress.length, 1)));
  await page
    .locator('#tools li', { hasText: 'hash_upload' })
    .filter({ hasText: 'finished' })
    .waitFor({ timeout: 5_000 });

  const { sha256 } = result.structuredContent as { sha256: string };
  const message = `random.bin hashed: ${sha256.slice(0, 16)}…`;
  await client.callTool({ name: 'broadcast', arguments: { message } });
  await page.locator(`#broadcasts li[data-broadcast="${message}"]`).waitFor({ timeout: 5_000 });

  const unknown = await client.callTool({ name: 'hash_upload', arguments: { uploadId: 'no-such-upload' } });
  assert.equal(unknown.isError, true);
  assert.match(JSON.stringify(unknown.content), /no upload with id no-such-upload/);
  assert.deepEqual(errors, []);
});

test('a page opened while two sessions are open says so, and lists the calls made before it loaded', async (t) => {
  const { page, errors } = await open(t, {
    before: async (url) => {
      const first = await connect(t, url);
      await connect(t, url);
      await first.callTool({ name: 'broadcast', arguments: { message: 'sent before the page loaded' } });
    },
  });
  // Three sessions: the two above and the one open() connects after the page loaded.
  await page.locator('#sessionCount', { hasText: '3 open' }).waitFor({ timeout: 5_000 });
  await page.locator('#broadcasts li[data-broadcast="sent before the page loaded"]').waitFor({ timeout: 5_000 });
  await page.locator('#tools li', { hasText: 'broadcast' }).filter({ hasText: 'finished' }).waitFor({ timeout: 5_000 });
  assert.equal(await page.locator('#sessions li', { hasText: 'streamable-http' }).count(), 3);
  assert.deepEqual(errors, []);
});

test('the Tasks panel shows a 2026 client’s cpu_work task live, working with its progress, then completed', async (t) => {
  const { page, errors } = await open(t);
  const session = await connectTasks(t, new URL(page.url()).origin);
  const execution = await session.callTool('cpu_work', { rounds: 6_000_000, chunks: 60, seed: 'page' });
  assert.equal(execution.kind, 'task');
  const taskId = execution.handle.taskId;
  const line = page.locator(`#tasks li[data-task="${taskId}"]`);
  // Working, with the tool's progress as its status message, while the tool runs on a worker.
  await line.filter({ hasText: /\d+ of 6000000 rounds/ }).waitFor({ timeout: 20_000 });
  const settlement = await execution.settle();
  assert.equal(settlement.outcome.status, 'completed');
  await page.locator(`#tasks li[data-task="${taskId}"][data-status="completed"]`).waitFor({ timeout: 10_000 });
  assert.match((await line.textContent()) ?? '', new RegExp(`completed cpu_work ${taskId.slice(0, 8)}`));
  const shown = await shownStatuses(page, taskId);
  assert.equal(shown[0]?.status, 'working', JSON.stringify(shown));
  assert.ok(
    shown.some((task) => task.status === 'working' && /^\d+ of 6000000 rounds$/.test(task.statusMessage ?? '')),
    JSON.stringify(shown),
  );
  assert.equal(shown.at(-1)?.status, 'completed', JSON.stringify(shown));
  assert.equal(await page.locator('#taskCount').textContent(), '0 working');
  assert.deepEqual(errors, []);
});

test('a page opened after one task completed and while another runs shows both (state on connect), then the cancel', async (t) => {
  let execution: Awaited<ReturnType<Awaited<ReturnType<typeof connectTasks>>['callTool']>> | undefined;
  let finishedId: string | undefined;
  const { page, errors } = await open(t, {
    before: async (url) => {
      const session = await connectTasks(t, url);
      const finished = await session.callTool('cpu_work', { rounds: 10_000, chunks: 1, seed: 'done' });
      assert.equal(finished.kind, 'task');
      finishedId = finished.handle.taskId;
      assert.equal((await finished.settle()).outcome.status, 'completed');
      execution = await session.callTool('cpu_work', { rounds: 100_000_000, chunks: 1_000, seed: 'before' });
    },
  });
  // The completed task changes no more: only the state sent on connect can show it.
  await page.locator(`#tasks li[data-task="${finishedId}"][data-status="completed"]`).waitFor({ timeout: 10_000 });
  assert.equal(execution?.kind, 'task');
  const taskId = execution.handle.taskId;
  await page.locator(`#tasks li[data-task="${taskId}"][data-status="working"]`).waitFor({ timeout: 10_000 });
  assert.equal(await page.locator('#taskCount').textContent(), '1 working');
  await execution.cancel();
  await page.locator(`#tasks li[data-task="${taskId}"][data-status="cancelled"]`).waitFor({ timeout: 10_000 });
  assert.equal(await page.locator('#taskCount').textContent(), '0 working');
  assert.deepEqual(errors, []);
});

test('the charts plot the pool and the pings; with workers, pings sent during blocking work are answered before it ends', async (t) => {
  // Started as the checkout's `npm run demo` starts it, so the page (and the README's screenshot)
  // shows the commands for a checkout.
  const { page, client, errors } = await open(t, {
    threads: '2',
    env: {
      npm_package_name: 'mummyx',
      npm_lifecycle_event: 'demo',
      npm_lifecycle_script: 'tsc -b && node apps/demo/dist/cli.js',
    },
  });
  await page.waitForSelector('body[data-pool="2"]', { timeout: 10_000 });
  assert.equal(await page.locator('#poolMode').textContent(), '2 workers');

  // Some activity for the feeds (and the README's screenshot).
  await client.callTool({
    name: 'sql_query',
    arguments: { sql: 'SELECT title, published FROM books ORDER BY published LIMIT 3' },
  });
  await client.callTool({ name: 'cpu_work', arguments: { rounds: 300_000, chunks: 3 } });
  await client.callTool({ name: 'broadcast', arguments: { message: 'Hello from an MCP client' } });
  await page.fill('#chatText', 'hi from the browser');
  await page.press('#chatText', 'Enter');
  await page.locator('#chat li', { hasText: 'hi from the browser' }).waitFor({ timeout: 5_000 });

  const record = await runBlockingWork(page);
  assert.equal(record.works.length, 1);
  const during = pingsDuring(record, 0);
  const work = record.works[0]!;
  assert.ok(
    during.some((ping) => ping.receivedAt < work.finishedAt),
    `no ping sent during the work was answered before it ended: ${JSON.stringify({ work, during })}`,
  );
  await page.locator('#tools li', { hasText: 'blocking work' }).filter({ hasText: 'finished' }).waitFor();

  // Each chart has drawn lines; the ping chart shades the time the work ran; one square per worker.
  await page.waitForFunction("document.querySelectorAll('#timeChart polyline').length >= 4", undefined, {
    timeout: 5_000,
  });
  assert.ok((await page.locator('#poolChart polyline').count()) >= 2);
  assert.ok((await page.locator('#pingChart polyline').count()) >= 1);
  assert.equal(await page.locator('#pingChart rect.band').count(), 1);
  assert.equal(await page.locator('#workers .worker').count(), 2);
  assert.match((await page.locator('#pingSummary').textContent()) ?? '', /last [\d.]+ ms/);
  assert.match((await page.locator('#claudeCommand').textContent()) ?? '', /^npm run demo -- claude-config --install/);

  // A few more samples after the work, so the picture shows before, during and after.
  await page.waitForFunction(
    (since) =>
      (globalThis as unknown as { mummyxDemo: PageRecord }).mummyxDemo.pings.filter((ping) => ping.sentAt > since)
        .length >= 3,
    work.finishedAt,
    { timeout: 10_000 },
  );
  await page.screenshot({ path: screenshot, fullPage: true });
  assert.deepEqual(errors, []);
});

test('with --threads 0 the page says so, and pings sent during blocking work wait for it', async (t) => {
  const { page, errors } = await open(t, { threads: '0' });
  await page.locator('#poolMode', { hasText: 'inline' }).waitFor({ timeout: 10_000 });
  const record = await runBlockingWork(page);
  const work = record.works[0]!;
  // Pings sent well after the work request (so they reached the server after it) are answered
  // only once the one thread is free again.
  const during = pingsDuring(record, 200);
  assert.ok(during.length > 0, JSON.stringify(record));
  assert.ok(
    during.every((ping) => ping.receivedAt >= work.finishedAt - 1),
    `a ping was answered while the IO thread ran the work: ${JSON.stringify({ work, during })}`,
  );
  assert.equal(await page.locator('#workers .worker').count(), 0);
  assert.deepEqual(errors, []);
});
