import assert from 'node:assert/strict';
import { test } from 'node:test';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ClaudeConfigError, claudeConfigEntries, claudeConfigPath, mergeClaudeConfig } from '../dist/claude-config.js';

const entries = claudeConfigEntries();

test('the entries run this cli.js with this node, by absolute path: the demo over stdio, and the relay to the HTTP demo', () => {
  const cli = realpathSync(fileURLToPath(new URL('../dist/cli.js', import.meta.url)));
  assert.deepEqual(entries, {
    'mummyx-demo': { command: process.execPath, args: [cli, '--stdio'] },
    'mummyx-demo-http': { command: process.execPath, args: [cli, '--stdio', '--url', 'http://127.0.0.1:8080/mcp'] },
  });
  const launcher = { node: '/opt/node/bin/node', cli: '/home/ada/demo/dist/cli.js' };
  assert.deepEqual(claudeConfigEntries('http://127.0.0.1:9000/mcp', launcher), {
    'mummyx-demo': { command: '/opt/node/bin/node', args: ['/home/ada/demo/dist/cli.js', '--stdio'] },
    'mummyx-demo-http': {
      command: '/opt/node/bin/node',
      args: ['/home/ada/demo/dist/cli.js', '--stdio', '--url', 'http://127.0.0.1:9000/mcp'],
    },
  });
});

test('finds Claude Desktop’s configuration file on macOS, Windows and Linux', () => {
  assert.equal(
    claudeConfigPath('darwin', {}, '/Users/ada'),
    '/Users/ada/Library/Application Support/Claude/claude_desktop_config.json',
  );
  assert.equal(
    claudeConfigPath('win32', { APPDATA: 'C:\\Users\\ada\\AppData\\Roaming' }, 'C:\\Users\\ada'),
    'C:\\Users\\ada\\AppData\\Roaming\\Claude\\claude_desktop_config.json',
  );
  assert.equal(
    claudeConfigPath('win32', {}, 'C:\\Users\\ada'),
    'C:\\Users\\ada\\AppData\\Roaming\\Claude\\claude_desktop_config.json',
  );
  assert.equal(claudeConfigPath('linux', {}, '/home/ada'), '/home/ada/.config/Claude/claude_desktop_config.json');
  assert.equal(
    claudeConfigPath('linux', { XDG_CONFIG_HOME: '/xdg' }, '/home/ada'),
    '/xdg/Claude/claude_desktop_config.json',
  );
});

test('merging keeps every other key and server, in order, and adds the demo’s', () => {
  const before = { globalShortcut: 'Ctrl+Space', mcpServers: { files: { command: 'files-mcp', args: ['/tmp'] } } };
  const merged = mergeClaudeConfig(JSON.stringify(before), entries);
  assert.ok(merged !== undefined);
  const after = JSON.parse(merged) as { globalShortcut: string; mcpServers: Record<string, unknown> };
  assert.equal(after.globalShortcut, 'Ctrl+Space');
  assert.deepEqual(Object.keys(after.mcpServers), ['files', 'mummyx-demo', 'mummyx-demo-http']);
  assert.deepEqual(after.mcpServers['files'], before.mcpServers.files);
  assert.ok(merged.endsWith('}\n'));
});

test('merging into a file that already has the entries changes nothing', () => {
  const once = mergeClaudeConfig('{}', entries);
  assert.ok(once !== undefined);
  assert.equal(mergeClaudeConfig(once, entries), undefined);
});

test('merging replaces a stale demo entry of the same name', () => {
  const stale = JSON.stringify({ mcpServers: { 'mummyx-demo': { command: 'node', args: ['old.js'] } } });
  const merged = mergeClaudeConfig(stale, entries);
  assert.ok(merged !== undefined);
  assert.deepEqual((JSON.parse(merged) as { mcpServers: unknown }).mcpServers, entries);
});

test('an empty or missing file becomes a file with just the entries', () => {
  for (const text of [undefined, '', '  \n']) {
    const merged = mergeClaudeConfig(text, entries);
    assert.deepEqual(JSON.parse(merged ?? 'null'), { mcpServers: entries });
  }
});

test('refuses text that is not JSON, not an object, or whose mcpServers is not an object', () => {
  for (const [text, message] of [
    ['{ "mcpServers": ', /not valid JSON/],
    ['[1, 2]', /not a JSON object/],
    ['"text"', /not a JSON object/],
    ['{ "mcpServers": [] }', /"mcpServers" .* is not an object/],
    ['{ "mcpServers": "x" }', /"mcpServers" .* is not an object/],
  ] as const) {
    assert.throws(
      () => mergeClaudeConfig(text, entries, 'config.json'),
      (error: unknown) => error instanceof ClaudeConfigError && message.test(error.message),
      text,
    );
  }
});
