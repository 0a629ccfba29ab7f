// Real MCP clients that are programs (the Inspector CLI, mcp-remote, the conformance suite) or
// libraries that need a newer Node to install cleanly (@ai-sdk/mcp), and the Node runtimes they need, installed once per checkout under .tmp/tools so every runtime's
// test run shares them. Installing needs the npm registry: without a network (and nothing
// installed yet) the tests that need a tool skip with one line saying so; any other install
// failure fails them.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../.tmp/tools/', import.meta.url));

/** npm's messages when the registry cannot be reached at all. */
const offline = /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH)\b/;

/** Thrown when a tool is not installed and the registry cannot be reached. */
export class ToolOfflineError extends Error {}

/**
 * The path of `bin` from `spec`, installing the package first when needed (with several specs,
 * all of them into one folder: a tool and the runtime it needs, e.g. `node@22`).
 */
export function toolBin(name: string, spec: string | string[], bin: string): string {
  return installed(name, spec, join('.bin', bin));
}

/**
 * The folder of package `packageName` installed from `spec` under .tmp/tools: a client library
 * whose dependencies need a newer Node than the workspace supports (it would warn EBADENGINE on
 * every Node 20 install as a devDependency) but that runs on Node 20.
 */
export function toolPackage(name: string, spec: string, packageName: string): string {
  return installed(name, spec, packageName);
}

/** `node_modules/<inside>` of the tool folder `name`, installing `spec` there first when needed. */
function installed(name: string, spec: string | string[], inside: string): string {
  const specs = typeof spec === 'string' ? [spec] : spec;
  const label = specs.join(' ');
  const prefix = join(root, name);
  const path = join(prefix, 'node_modules', inside);
  if (existsSync(path)) return path;
  // A quick look-up without retries first: npm retries an unreachable registry for minutes.
  const probe = spawnSync('npm', ['view', specs[0]!, 'version', '--fetch-retries=0', '--fetch-timeout=15000'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  const probed = `${probe.stderr ?? ''}${probe.error?.message ?? ''}`;
  if (probe.status !== 0 && offline.test(probed)) {
    throw new ToolOfflineError(`needs the npm registry to install ${label} (offline: ${offline.exec(probed)![1]!})`);
  }
  mkdirSync(prefix, { recursive: true });
  const install = spawnSync(
    'npm',
    ['install', '--prefix', prefix, ...specs, '--no-audit', '--no-fund', '--loglevel=error', '--engine-strict=false'],
    { encoding: 'utf8', timeout: 300_000 },
  );
  if (install.status === 0 && existsSync(path)) return path;
  const output = `${install.stderr ?? ''}${install.stdout ?? ''}${install.error?.message ?? ''}`;
  if (offline.test(output)) {
    throw new ToolOfflineError(`needs the npm registry to install ${label} (offline: ${offline.exec(output)![1]!})`);
  }
  throw new Error(`npm install ${label} failed (exit ${String(install.status)}):\n${output.slice(-2_000)}`);
}

/** Like `toolBin`, but marks the test skipped (and returns undefined) when the registry is out of reach. */
export function toolOrSkip(t: TestContext, name: string, spec: string | string[], bin: string): string | undefined {
  try {
    return toolBin(name, spec, bin);
  } catch (error) {
    if (!(error instanceof ToolOfflineError)) throw error;
    t.skip(error.message);
    return undefined;
  }
}

/**
 * A `node` executable of the given major version: this one when it matches, else the `node@major`
 * package from npm (how the suite runs Node 22 and 24 on a machine that has Node 20).
 */
export function nodeOrSkip(t: TestContext, major: number): string | undefined {
  if (Number(process.versions.node.split('.')[0]) === major) return process.execPath;
  return toolOrSkip(t, `node-${major}`, `node@${major}`, 'node');
}

/** The conformance suite the tests run (it needs Node 22 or later). */
export const conformanceSuiteVersion = '0.2.0-alpha.12';

/**
 * The conformance suite's CLI and the Node 22 installed next to it, which runs it whatever Node
 * runs the tests (the suite dies at import on Node 20); undefined, with the test marked skipped,
 * when the npm registry is out of reach.
 */
export function conformanceSuite(t: TestContext): { node: string; conformance: string } | undefined {
  const conformance = toolOrSkip(
    t,
    `conformance-${conformanceSuiteVersion}-node22`,
    [`@modelcontextprotocol/conformance@${conformanceSuiteVersion}`, 'node@22'],
    'conformance',
  );
  return conformance === undefined ? undefined : { node: join(dirname(conformance), 'node'), conformance };
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
