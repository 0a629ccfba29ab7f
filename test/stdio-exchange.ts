import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

/** The built demo CLI. */
export const demoCli = fileURLToPath(new URL('../../apps/demo/dist/cli.js', import.meta.url));

/** A fresh temporary folder, removed when the test ends. */
export function temporaryDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface Exchange {
  /** stdout split into lines (the last, empty one dropped). */
  stdoutLines: string[];
  stderr: string;
  code: number | null;
}

/**
 * Starts `command`, writes each message as one JSON line on its stdin, ends stdin, and collects
 * everything it prints until it exits (killed after `timeoutMs`, which fails the exchange).
 */
export function exchangeLines(
  command: string,
  args: string[],
  messages: unknown[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdin.on('error', () => {}); // an early exit is reported through the exit code
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`${command} ${args.join(' ')} did not exit in ${options.timeoutMs ?? 20_000} ms; stderr: ${stderr}`),
      );
    }, options.timeoutMs ?? 20_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const stdoutLines = stdout.split('\n');
      if (stdoutLines.at(-1) === '') stdoutLines.pop();
      resolve({ stdoutLines, stderr, code });
    });
    child.stdin.end(messages.map((message) => `${JSON.stringify(message)}\n`).join(''));
  });
}

/** The messages of an MCP session that initializes and then sends `requests`. */
export function mcpSession(requests: Array<{ method: string; params?: unknown }>): unknown[] {
  return [
    {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'mummyx-test', version: '1.0.0' },
      },
    },
    { jsonrpc: '2.0', method: 'notifications/initialized' },
    ...requests.map((request, index) => ({ jsonrpc: '2.0', id: index + 2, ...request })),
  ];
}

interface JsonRpcLine {
  jsonrpc: string;
  id?: number;
  result?: unknown;
  error?: unknown;
  method?: string;
}

/** Parses every stdout line as a JSON-RPC message; throws on the first line that is not one. */
export function parseJsonRpcLines(lines: string[]): JsonRpcLine[] {
  return lines.map((line) => {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      throw new Error(`stdout line is not JSON: ${line}`);
    }
    if (typeof message !== 'object' || message === null || (message as JsonRpcLine).jsonrpc !== '2.0') {
      throw new Error(`stdout line is not a JSON-RPC 2.0 message: ${line}`);
    }
    return message as JsonRpcLine;
  });
}
