// Running the demo the way its printed commands say, and its Claude Desktop entries the way Claude
// Desktop starts them: the entry's command with its arguments, no shell, a bare environment.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { exchangeLines, mcpSession, parseJsonRpcLines } from './stdio-exchange.js';

/**
 * The environment of a user's shell: this process's, without the `npm_*` variables an npm script
 * (the test run itself, or `npx -p node@22`) puts there. A command typed in a shell has none, and
 * some change what npm and npx do (`npm_config_package` makes npx treat its package as a command).
 */
export function shellEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
  return { ...env, ...extra };
}

/** The environment Claude Desktop gives a server it starts, at its barest. */
export function claudeDesktopEnv(home: string): NodeJS.ProcessEnv {
  return { PATH: '/usr/bin:/bin', HOME: home };
}

export interface ClaudeServerEntry {
  command: string;
  args: string[];
  env?: Record<string, string>;
}

/** The `mcpServers` of the Claude Desktop configuration that claude-config wrote under `configHome`. */
export function readClaudeEntries(configHome: string): Record<string, ClaudeServerEntry> {
  const text = readFileSync(join(configHome, 'Claude', 'claude_desktop_config.json'), 'utf8');
  return (JSON.parse(text) as { mcpServers: Record<string, ClaudeServerEntry> }).mcpServers;
}

/**
 * Starts `entry` as Claude Desktop does and speaks MCP to it over stdio: initialize, then
 * tools/list. Asserts the answers and returns the tool names.
 */
export async function startAsClaudeDesktop(entry: ClaudeServerEntry, home: string): Promise<string[]> {
  assert.equal(entry.env, undefined, 'the entry needs no environment of its own');
  const exchange = await exchangeLines(entry.command, entry.args, mcpSession([{ method: 'tools/list' }]), {
    env: claudeDesktopEnv(home),
    cwd: '/',
    timeoutMs: 60_000,
  });
  assert.equal(exchange.code, 0, exchange.stderr);
  const messages = parseJsonRpcLines(exchange.stdoutLines);
  const initialize = messages.find((message) => message.id === 1);
  assert.equal(
    (initialize?.result as { serverInfo?: { name?: string } } | undefined)?.serverInfo?.name,
    'mummyx-demo',
    `${exchange.stdoutLines.join('\n')}\n${exchange.stderr}`,
  );
  const list = messages.find((message) => message.id === 2);
  const tools = (list?.result as { tools?: Array<{ name: string }> } | undefined)?.tools ?? [];
  return tools.map((tool) => tool.name);
}

/** A program started with its own process group (npm and npx start shells and children). */
export interface RunningCommand {
  /** Resolves with the first match of `pattern` in stdout; rejects if the program exits first. */
  waitFor(pattern: RegExp): Promise<RegExpExecArray>;
}

/**
 * Starts `command` in a process group of its own, stopped with SIGTERM to the whole group (then
 * SIGKILL after 5 s) when the test ends.
 */
export function startCommand(
  t: TestContext,
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): RunningCommand {
  const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let exited = false;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const signal = (name: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, name);
    } catch {
      // The group has already gone.
    }
  };
  t.after(async () => {
    if (exited) return;
    signal('SIGTERM');
    const timer = setTimeout(() => signal('SIGKILL'), 5_000);
    await exit;
    clearTimeout(timer);
  });
  return {
    async waitFor(pattern) {
      for (;;) {
        const match = pattern.exec(stdout);
        if (match !== null) return match;
        if (exited) throw new Error(`${command} ${args.join(' ')} exited; stdout: ${stdout}\nstderr: ${stderr}`);
        await Promise.race([exit, new Promise((resolve) => setTimeout(resolve, 50))]);
      }
    },
  };
}

/** What the start-up banner prints: the URL and the Claude Desktop command. */
export async function readBanner(running: RunningCommand): Promise<{ url: string; claudeCommand: string }> {
  const [, url] = await running.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
  const [, claudeCommand] = await running.waitFor(/\n {2}Claude Desktop {2}(.+)\n/);
  return { url: url!, claudeCommand: claudeCommand! };
}

/** Splits a printed command into words as a POSIX shell would: blanks, '…' quotes and backslash escapes. */
export function splitCommand(command: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let index = 0; index < command.length; index++) {
    const char = command[index]!;
    if (char === "'") {
      const end = command.indexOf("'", index + 1);
      assert.notEqual(end, -1, `unbalanced quote in ${command}`);
      word = (word ?? '') + command.slice(index + 1, end);
      index = end;
    } else if (char === '\\') {
      word = (word ?? '') + (command[++index] ?? '');
    } else if (char === ' ' || char === '\t') {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + char;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}
