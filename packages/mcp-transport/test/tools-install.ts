// Real MCP clients that are programs (the Inspector CLI, mcp-remote), installed once per checkout
// under .tmp/tools so every runtime's test run shares them.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../.tmp/tools/', import.meta.url));

/**
 * The path of `bin` from `spec`, installing the package first when needed (with several specs,
 * all of them into one folder: a tool and the runtime it needs, e.g. `node@22`).
 */
export function toolBin(name: string, spec: string | string[], bin: string): string {
  const prefix = join(root, name);
  const path = join(prefix, 'node_modules', '.bin', bin);
  if (!existsSync(path)) {
    mkdirSync(prefix, { recursive: true });
    const specs = typeof spec === 'string' ? [spec] : spec;
    execFileSync('npm', ['install', '--prefix', prefix, ...specs, '--no-audit', '--no-fund', '--loglevel=error'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  return path;
}
