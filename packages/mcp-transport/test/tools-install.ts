// Real MCP clients that are programs (the Inspector CLI, mcp-remote), installed once per checkout
// under .tmp/tools so every runtime's test run shares them.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
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

/** The conformance suite the tests run (it needs Node 22 or later). */
export const conformanceSuiteVersion = '0.2.0-alpha.12';

/**
 * The conformance suite's CLI and the Node 22 installed next to it, which runs it whatever Node
 * runs the tests (the suite dies at import on Node 20).
 */
export function conformanceSuite(): { node: string; conformance: string } {
  const conformance = toolBin(
    `conformance-${conformanceSuiteVersion}-node22`,
    [`@modelcontextprotocol/conformance@${conformanceSuiteVersion}`, 'node@22'],
    'conformance',
  );
  return { node: join(dirname(conformance), 'node'), conformance };
}

/** The suite's Tasks extension scenarios that check something (it skips tasks-status-notifications itself). */
export const conformanceTaskScenarios: readonly string[] = [
  'tasks-lifecycle',
  'tasks-capability-negotiation',
  'tasks-wire-fields',
  'tasks-request-state-removal',
  'tasks-mrtr-input',
  'tasks-request-headers',
  'tasks-dispatch-and-envelope',
  'tasks-required-task-error',
  'tasks-mrtr-composition',
];
