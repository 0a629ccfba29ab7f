// The official MCP conformance suite, 0.2.0-alpha.12, against the demo server with its
// conformance fixtures (`mummyx-demo --conformance`), inline (`--threads 0`) and on four worker
// threads, for both protocol eras the endpoint serves: `--requirements 2025-11-25` (sessions)
// and `--requirements 2026-07-28` (stateless). The suite must exit 0, with no expected-failures
// list. A 2026 run also runs the `tasks-*` scenarios of the Tasks extension, which the suite does
// not score: the demo serves the extension, and they must pass like every other scenario, the
// not-scored pending ones included.
//
// The suite needs Node 22 or later (it dies at import on Node 20), so it always runs on the
// `node@22` package installed next to it: these tests run the same way when the test process
// itself is Node 20.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import {
  conformanceSuite as suite,
  conformanceSuiteVersion as suiteVersion,
  conformanceTaskScenarios as taskScenarios,
} from './tools-install.js';

const cli = fileURLToPath(new URL('../../../apps/demo/dist/cli.js', import.meta.url));

/** Starts `mummyx-demo --conformance` on a free port; resolves with its origin. */
async function startDemo(t: TestContext, threads: string): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mummyx-conformance-'));
  const child = spawn(
    process.execPath,
    [cli, '--port', '0', '--threads', threads, '--conformance', '--data-dir', dataDir],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.on('error', () => {});
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4_000)));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    rmSync(dataDir, { recursive: true, force: true });
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the demo did not start: ${out}${stderr}`)), 20_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`the demo exited (${code}): ${out}${stderr}`)));
  });
}

interface SuiteRun {
  code: number;
  /** `Total: N passed, M failed`: checks of every scenario run, scored or not. */
  summary: string | undefined;
  passedChecks: number;
  /** Scenarios with a failing check. */
  failing: string[];
  /** Scenarios whose every check passed, with how many checks that was. */
  passing: Map<string, number>;
  /** Scenarios the suite ran without scoring them, with the reason it gives (`extension`, `pending`…). */
  notScored: Map<string, string>;
  output: string;
}

async function runSuite(t: TestContext, requirements: string, threads: string): Promise<SuiteRun | undefined> {
  const tools = suite(t);
  if (tools === undefined) return undefined;
  const { node, conformance } = tools;
  const url = await startDemo(t, threads);
  const results = mkdtempSync(join(tmpdir(), 'conformance-results-'));
  t.after(() => rmSync(results, { recursive: true, force: true }));
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile(
      node,
      [conformance, 'server', '--url', `${url}/mcp`, '--requirements', requirements, '-o', results],
      { timeout: 180_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const exitCode = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code: exitCode, output: `${stdout}\n${stderr}` });
      },
    );
  });
  const summary = /^Total: (\d+) passed, (\d+) failed$/m.exec(output);
  const failing = [...output.matchAll(/^✗ ([\w-]+): \d+ passed, \d+ failed$/gm)].map((match) => match[1]!);
  const passing = new Map(
    [...output.matchAll(/^✓ ([\w-]+): (\d+) passed, 0 failed$/gm)].map(
      (match) => [match[1]!, Number(match[2])] as const,
    ),
  );
  const notScored = new Map(
    [...output.matchAll(/^ {2}[✓✗] ([\w-]+) \(([^)]+)\)$/gm)].map((match) => [match[1]!, match[2]!] as const),
  );
  t.diagnostic(`exit code ${code}; ${summary?.[0] ?? 'no summary line'}`);
  if (failing.length > 0) t.diagnostic(`scenarios with failing checks: ${failing.join(', ')}`);
  return { code, summary: summary?.[0], passedChecks: Number(summary?.[1] ?? 0), failing, passing, notScored, output };
}

function assertConformant(run: SuiteRun, minimumPassedChecks: number): void {
  assert.ok(run.summary !== undefined, `no summary in the suite's output:\n${run.output.slice(-3_000)}`);
  const unexpected = run.failing.filter((scenario) => run.notScored.get(scenario) !== 'extension');
  assert.deepEqual(unexpected, [], `failing scenarios:\n${run.output.slice(-3_000)}`);
  assert.ok(run.passedChecks >= minimumPassedChecks, `only ${run.passedChecks} checks passed`);
  assert.equal(run.code, 0, run.output.slice(-3_000));
}

for (const threads of ['0', '4']) {
  const mode = threads === '0' ? 'inline' : `${threads} worker threads`;

  test(`conformance ${suiteVersion} --requirements 2025-11-25, ${mode}: every scenario passes`, async (t) => {
    const run = await runSuite(t, '2025-11-25', threads);
    if (run === undefined) return;
    assert.deepEqual(run.failing, []);
    assertConformant(run, 80);
  });

  test(`conformance ${suiteVersion} --requirements 2026-07-28, ${mode}: every scenario passes, the tasks extension's included`, async (t) => {
    const run = await runSuite(t, '2026-07-28', threads);
    if (run === undefined) return;
    assert.deepEqual(run.failing, []);
    for (const scenario of taskScenarios) {
      assert.equal(run.notScored.get(scenario), 'extension', `${scenario} did not run as an extension scenario`);
      const checks = run.passing.get(scenario) ?? 0;
      assert.ok(checks >= 2, `${scenario}: ${checks} checks passed\n${run.output.slice(-3_000)}`);
    }
    assertConformant(run, 190);
  });
}
