// The commands the README, the start-up banner and the page print for a checkout, run from the
// checkout as printed: `npm run demo`, `npm run demo -- claude-config [--install]`, the Claude
// Desktop entries these write, started as Claude Desktop starts them, and the MCP Inspector
// commands of the banner and of apps/demo/README.md.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';
import {
  readBanner,
  readClaudeEntries,
  shellEnv,
  splitCommand,
  startAsClaudeDesktop,
  startCommand,
} from './claude-desktop.js';
import { demoCli, temporaryDir } from './stdio-exchange.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** The environment of a user whose Claude Desktop configuration lives under `home`. */
function userEnv(home: string): NodeJS.ProcessEnv {
  return {
    ...shellEnv(),
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    MUMMYX_DEMO_DATA_DIR: join(home, 'data'),
  };
}

test('`npm run demo -- claude-config` prints entries that start this checkout’s cli.js with this node', async (t) => {
  const home = temporaryDir(t, 'mummyx-checkout-');
  const { stdout } = await run(npm, ['run', 'demo', '--', 'claude-config'], { cwd: root, env: userEnv(home) });
  const cli = realpathSync(demoCli);
  assert.ok(stdout.includes('(or run: npm run demo -- claude-config --install)'), stdout);
  assert.ok(stdout.includes('(start it first: npm run demo)'), stdout);
  const entries = JSON.parse(stdout.slice(stdout.indexOf('{\n'))) as { mcpServers: unknown };
  assert.deepEqual(entries.mcpServers, {
    'mummyx-demo': { command: process.execPath, args: [cli, '--stdio'] },
    'mummyx-demo-http': { command: process.execPath, args: [cli, '--stdio', '--url', 'http://127.0.0.1:8080/mcp'] },
  });
});

test('the Claude Desktop command the banner and the page print, run from the checkout, installs entries that start as Claude Desktop starts them', async (t) => {
  const home = temporaryDir(t, 'mummyx-checkout-');
  const demo = startCommand(t, npm, ['run', 'demo', '--', '--port', '0', '--threads', '1'], {
    cwd: root,
    env: userEnv(home),
  });
  const { url, claudeCommand } = await readBanner(demo);
  assert.equal(claudeCommand, `npm run demo -- claude-config --install --url ${url}/mcp`);
  // The page prints the same command (it reads it from /info).
  const info = (await (await fetch(`${url}/info`)).json()) as { claudeConfigCommand: string };
  assert.equal(info.claudeConfigCommand, claudeCommand);

  const [command, ...args] = splitCommand(claudeCommand);
  const installed = await run(command === 'npm' ? npm : command!, args, { cwd: root, env: userEnv(home) });
  assert.match(installed.stdout, /added mummyx-demo and mummyx-demo-http to .*claude_desktop_config\.json/);
  const entries = readClaudeEntries(join(home, '.config'));
  assert.deepEqual(Object.keys(entries), ['mummyx-demo', 'mummyx-demo-http']);

  // The demo itself over stdio: a fresh process with its own sample database under HOME.
  const stdioTools = await startAsClaudeDesktop(entries['mummyx-demo']!, home);
  assert.ok(stdioTools.includes('sql_query'), stdioTools.join(', '));
  assert.ok(!stdioTools.includes('hash_upload'), 'no upload endpoint over stdio');
  // The relay to the running HTTP demo: its tools are the HTTP demo's, hash_upload included.
  const relayedTools = await startAsClaudeDesktop(entries['mummyx-demo-http']!, home);
  assert.ok(relayedTools.includes('hash_upload'), relayedTools.join(', '));
});

test('the Inspector commands of the banner and of the demo’s README list and call its tools', async (t) => {
  const demo = startCommand(t, process.execPath, [demoCli, '--port', '0', '--threads', '1-2'], {
    cwd: root,
    env: shellEnv({ MUMMYX_DEMO_DATA_DIR: temporaryDir(t, 'mummyx-inspector-') }),
  });
  const { url } = await readBanner(demo);
  const [, bannerCommand] = await demo.waitFor(/\n {2}Inspector CLI {3}(.+)\n/);
  // The README's commands (one continued over two lines), pointed at this demo's port.
  const readme = readFileSync(join(root, 'apps', 'demo', 'README.md'), 'utf8').replace(/ \\\n\s*/g, ' ');
  const readmeCommands = [...readme.matchAll(/^npx -y @modelcontextprotocol\/inspector@[\d.]+ --cli .+$/gm)].map(
    ([command]) => command.replaceAll('http://127.0.0.1:8080', url),
  );
  assert.equal(readmeCommands.length, 3, readme);
  for (const command of [bannerCommand!, ...readmeCommands]) {
    const [npx, ...args] = splitCommand(command);
    assert.equal(npx, 'npx', command);
    // npm's cache serves the package after the first run.
    const { stdout } = await run(process.platform === 'win32' ? 'npx.cmd' : 'npx', ['--prefer-offline', ...args], {
      env: shellEnv(),
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    assert.match(stdout, args.includes('tools/call') ? /published/ : /sql_query/, command);
  }
});
