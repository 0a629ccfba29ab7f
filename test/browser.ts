// A headless Chromium or Chrome for the page tests, driven by playwright-core (which downloads no
// browser of its own): CHROME_PATH when set, else the usual install locations, else Chrome found
// by playwright's `chrome` channel. When there is none, the test fails with one line saying how to
// install one.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type LaunchOptions } from 'playwright-core';

/** Where Chromium and Chrome are installed by the usual packages, checked in this order. */
export const browserPaths = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/snap/bin/chromium',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
];

export const noBrowserMessage =
  'the page tests need Chromium or Chrome: install one (Debian/Ubuntu: sudo apt-get install chromium; ' +
  'Fedora: sudo dnf install chromium; macOS: install Google Chrome) or set CHROME_PATH to its executable';

/** Flags for a quiet, self-contained headless run (no sandbox: CI runs as root in containers). */
const args = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** The launch options for the first browser found, or undefined when there is none to try. */
export function findBrowser(env: NodeJS.ProcessEnv = process.env): LaunchOptions | undefined {
  const configured = env['CHROME_PATH'];
  if (configured !== undefined && configured !== '') {
    if (!existsSync(configured))
      throw new Error(`CHROME_PATH is ${configured}, which does not exist; ${noBrowserMessage}`);
    return { executablePath: configured, headless: true, args };
  }
  const path = browserPaths.find((candidate) => existsSync(candidate));
  if (path !== undefined) return { executablePath: path, headless: true, args };
  return undefined;
}

/** Launches the browser `findBrowser` finds, else Chrome through playwright's channel, else fails in one line. */
export async function launchBrowser(): Promise<Browser> {
  const found = findBrowser();
  if (found !== undefined) return chromium.launch(found);
  try {
    return await chromium.launch({ channel: 'chrome', headless: true, args });
  } catch {
    throw new Error(noBrowserMessage);
  }
}
