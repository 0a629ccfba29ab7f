import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { demoCli, temporaryDir } from './stdio-exchange.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function run(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  const child = spawn(process.execPath, [demoCli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

// The entries start this checkout's cli.js with this node, by absolute path.
const cli = realpathSync(demoCli);
const demoEntries = {
  'mummyx-demo': { command: process.execPath, args: [cli, '--stdio'] },
  'mummyx-demo-http': { command: process.execPath, args: [cli, '--stdio', '--url', 'http://127.0.0.1:8080/mcp'] },
};

const existing = `{
  "globalShortcut": "Alt+Space",
  "mcpServers": {
    "filesystem": { "command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/home/ada"] }
  },
  "preferences": { "theme": "dark" }
}
`;

test('claude-config prints the stdio and relay entries, and the command that installs them from here', async () => {
  const result = await run(['claude-config']);
  assert.equal(result.code, 0, result.stderr);
  const json = result.stdout.slice(result.stdout.indexOf('{'));
  assert.deepEqual(JSON.parse(json), { mcpServers: demoEntries });
  assert.match(result.stdout, /claude_desktop_config\.json/);
  assert.ok(result.stdout.includes(`(or run: node ${cli} claude-config --install)`), result.stdout);
});

test('--install merges into an existing file, keeps every other entry and writes a backup first', async (t) => {
  const dir = temporaryDir(t, 'mummyx-claude-');
  const config = join(dir, 'claude_desktop_config.json');
  writeFileSync(config, existing);

  const result = await run(['claude-config', '--install', '--config', config]);
  assert.equal(result.code, 0, result.stderr);
  const merged = JSON.parse(readFileSync(config, 'utf8')) as Record<string, unknown>;
  assert.deepEqual(merged, {
    globalShortcut: 'Alt+Space',
    mcpServers: {
      filesystem: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/home/ada'] },
      ...demoEntries,
    },
    preferences: { theme: 'dark' },
  });
  const backups = readdirSync(dir).filter((name) => name.startsWith('claude_desktop_config.json.backup-'));
  assert.equal(backups.length, 1, readdirSync(dir).join(', '));
  assert.equal(readFileSync(join(dir, backups[0]!), 'utf8'), existing);
  assert.match(result.stdout, /previous file saved as/);
  // Nothing else was left behind (the temporary file was renamed into place).
  assert.deepEqual(readdirSync(dir).sort(), ['claude_desktop_config.json', backups[0]!].sort());
});

test('--install again changes nothing and writes no second backup', async (t) => {
  const dir = temporaryDir(t, 'mummyx-claude-');
  const config = join(dir, 'claude_desktop_config.json');
  writeFileSync(config, existing);
  assert.equal((await run(['claude-config', '--install', '--config', config])).code, 0);
  const once = readFileSync(config, 'utf8');
  const again = await run(['claude-config', '--install', '--config', config]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /already has the mummyx-demo entries/);
  assert.equal(readFileSync(config, 'utf8'), once);
  assert.equal(readdirSync(dir).filter((name) => name.includes('.backup-')).length, 1);
});

test('--install creates a missing file and its folder, without a backup', async (t) => {
  const dir = temporaryDir(t, 'mummyx-claude-');
  const config = join(dir, 'Claude', 'claude_desktop_config.json');
  const result = await run(['claude-config', '--install', '--config', config]);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(JSON.parse(readFileSync(config, 'utf8')), { mcpServers: demoEntries });
  assert.deepEqual(readdirSync(join(dir, 'Claude')), ['claude_desktop_config.json']);
});

test('--install without --config writes Claude’s own file ($XDG_CONFIG_HOME/Claude on Linux)', async (t) => {
  const dir = temporaryDir(t, 'mummyx-claude-');
  const result = await run(['claude-config', '--install'], { ...process.env, XDG_CONFIG_HOME: dir, HOME: dir });
  assert.equal(result.code, 0, result.stderr);
  const expected = join(dir, process.platform === 'darwin' ? 'Library/Application Support' : '', 'Claude');
  assert.ok(existsSync(join(expected, 'claude_desktop_config.json')), result.stdout);
});

test('--install leaves a file that is not valid JSON untouched and exits 1', async (t) => {
  const dir = temporaryDir(t, 'mummyx-claude-');
  const config = join(dir, 'claude_desktop_config.json');
  const broken = '{ "mcpServers": { "filesystem": { "command": "npx", } }\n';
  writeFileSync(config, broken);
  const result = await run(['claude-config', '--install', '--config', config]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /is not valid JSON .*left it untouched/);
  assert.equal(readFileSync(config, 'utf8'), broken);
  assert.deepEqual(readdirSync(dir), ['claude_desktop_config.json']);
});

test('--install refuses a file whose mcpServers is not an object', async (t) => {
  const dir = temporaryDir(t, 'mummyx-claude-');
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'claude_desktop_config.json');
  writeFileSync(config, '{ "mcpServers": ["a"] }');
  const result = await run(['claude-config', '--install', '--config', config]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /"mcpServers" .* is not an object/);
  assert.equal(readFileSync(config, 'utf8'), '{ "mcpServers": ["a"] }');
});

test('--url points the relay entry at another address; a bad --url or command is refused', async (t) => {
  const dir = temporaryDir(t, 'mummyx-claude-');
  const config = join(dir, 'claude_desktop_config.json');
  const url = 'http://127.0.0.1:9123/mcp';
  assert.equal((await run(['claude-config', '--install', '--config', config, '--url', url])).code, 0);
  const written = JSON.parse(readFileSync(config, 'utf8')) as { mcpServers: Record<string, { args: string[] }> };
  assert.deepEqual(written.mcpServers['mummyx-demo-http']?.args, [cli, '--stdio', '--url', url]);

  for (const bad of ['not a url', 'ftp://127.0.0.1/mcp']) {
    const badUrl = await run(['claude-config', '--url', bad]);
    assert.equal(badUrl.code, 2);
    assert.match(badUrl.stderr, /--url must be an absolute http\(s\) URL/);
  }
  const strayUrl = await run(['--url', url]);
  assert.equal(strayUrl.code, 2);
  assert.match(strayUrl.stderr, /--url goes with the claude-config command or with --stdio/);
  const badCommand = await run(['claude-configure']);
  assert.equal(badCommand.code, 2);
  assert.match(badCommand.stderr, /unknown command claude-configure/);
  const strayInstall = await run(['--install', '--config', config]);
  assert.equal(strayInstall.code, 2);
  assert.match(strayInstall.stderr, /go with the claude-config command/);
});
