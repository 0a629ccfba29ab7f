// How the page tests find a browser, and what they say when there is none.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { browserPaths, findBrowser, noBrowserMessage } from './browser.js';

test('CHROME_PATH wins when it exists, and fails in one line saying how to install a browser when it does not', () => {
  const installed = browserPaths.find((path) => existsSync(path)) ?? process.execPath;
  assert.equal(findBrowser({ CHROME_PATH: installed })?.executablePath, installed);
  assert.throws(
    () => findBrowser({ CHROME_PATH: '/nonexistent/chromium' }),
    (error: unknown) =>
      error instanceof Error &&
      !error.message.includes('\n') &&
      error.message.includes('/nonexistent/chromium') &&
      error.message.includes('sudo apt-get install chromium'),
  );
  assert.ok(!noBrowserMessage.includes('\n'));
});

test('without CHROME_PATH, the first installed browser of the usual paths, headless and without a sandbox', () => {
  const found = findBrowser({});
  const expected = browserPaths.find((path) => existsSync(path));
  assert.equal(found?.executablePath, expected);
  if (found !== undefined) {
    assert.equal(found.headless, true);
    assert.ok(found.args?.includes('--no-sandbox'));
  }
});
