import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

/** A compiled example, by name: `examples/dist/NAME.js`. */
export function examplePath(name: string): string {
  return fileURLToPath(new URL(`../../examples/dist/${name}.js`, import.meta.url));
}

/**
 * Starts a Node program that prints `listening on http://127.0.0.1:PORT` (examples, the demo),
 * waits for that line and returns the URL. The program is stopped with SIGTERM (SIGKILL after
 * 5 s) when the test ends.
 */
export async function startProgram(
  t: TestContext,
  path: string,
  options: { args?: string[]; env?: Record<string, string> } = {},
): Promise<string> {
  const child = spawn(process.execPath, [path, ...(options.args ?? [])], {
    env: { ...process.env, PORT: '0', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr.resume();
  t.after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await once(child, 'exit');
    clearTimeout(timer);
  });
  let output = '';
  for await (const chunk of child.stdout) {
    output += String(chunk);
    const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
    if (match !== null) {
      child.stdout.resume();
      return match[1]!;
    }
  }
  throw new Error(`${path} exited without listening: ${output}`);
}
