// The demo's page in a real browser: Debian's Chromium driven by playwright-core.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { chromium, type Page } from 'playwright-core';
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

async function open(t: TestContext): Promise<Session> {
  const url = await startProgram(t, demoCli, {
    args: ['--port', '0', '--threads', '1-2'],
    env: { MUMMYX_DEMO_DATA_DIR: temporaryDir(t, 'mummyx-demo-browser-') },
  });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update'],
  });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${url}/`);
  await page.waitForSelector('body[data-live="true"]', { timeout: 10_000 });
  const client = new Client({ name: 'mummyx-browser-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', url)));
  t.after(() => client.close());
  return { url, page, client, errors };
}

test('the page shows an SDK client’s session, tool calls and broadcast live, and chats, without console errors', async (t) => {
  const { page, client, errors } = await open(t);
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

  // The page as the README shows it: an upload hashed, and its digest broadcast.
  const { sha256 } = result.structuredContent as { sha256: string };
  const message = `random.bin hashed: ${sha256.slice(0, 16)}…`;
  await client.callTool({ name: 'broadcast', arguments: { message } });
  await page.locator(`#broadcasts li[data-broadcast="${message}"]`).waitFor({ timeout: 5_000 });
  await page.screenshot({ path: screenshot, fullPage: true });

  const unknown = await client.callTool({ name: 'hash_upload', arguments: { uploadId: 'no-such-upload' } });
  assert.equal(unknown.isError, true);
  assert.match(JSON.stringify(unknown.content), /no upload with id no-such-upload/);
  assert.deepEqual(errors, []);
});
