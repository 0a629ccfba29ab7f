// The conformance suite's Tasks extension scenarios (0.2.0-alpha.12, each run by name with
// --scenario) against the task fixture server, inline and on four workers: every check of every
// scenario passes; tasks-status-notifications is skipped by the suite itself (its harness still
// watches the tools/call stream, not subscriptions/listen). The suite needs Node 22 or later, so
// it runs on the node@22 package installed next to it, whatever runs these tests.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { startTasksServer, type TasksMode } from './helpers-tasks.js';
import {
  conformanceSuite as suite,
  conformanceSuiteVersion as suiteVersion,
  conformanceTaskScenarios as taskScenarios,
} from './tools-install.js';

/** Runs one scenario with the suite's CLI; resolves with its exit code and output (colours stripped). */
function runScenario(
  { node, conformance }: { node: string; conformance: string },
  url: string,
  scenario: string,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      node,
      [conformance, 'server', '--url', `${url}/mcp`, '--scenario', scenario],
      { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        // eslint-disable-next-line no-control-regex
        resolve({ code, output: `${stdout}${stderr}`.replace(/\u001b\[[0-9;]*m/g, '') });
      },
    );
  });
}

for (const mode of ['inline', 'threaded'] as TasksMode[]) {
  test(`conformance ${suiteVersion} tasks-* scenarios, ${mode}: every check passes`, async (t) => {
    const tools = suite(t);
    if (tools === undefined) return;
    const { url } = await startTasksServer(t, mode);
    for (const scenario of taskScenarios) {
      await t.test(scenario, async () => {
        const { code, output } = await runScenario(tools, url, scenario);
        const failing = output.split('\n').filter((line) => /\b(FAILURE|WARNING)\b/.test(line));
        assert.deepEqual(failing, [], `${scenario}:\n${output.slice(-3_000)}`);
        const summary = /Passed: (\d+)\/(\d+), (\d+) failed, (\d+) warnings/.exec(output);
        assert.ok(summary !== null, `no summary:\n${output.slice(-2_000)}`);
        assert.equal(summary[1], summary[2]);
        assert.ok(Number(summary[2]) >= 2, `only ${summary[2]} checks ran`);
        assert.equal(summary[3], '0');
        assert.equal(code, 0);
      });
    }
    await t.test('tasks-status-notifications is skipped by the suite', async () => {
      const { output } = await runScenario(tools, url, 'tasks-status-notifications');
      assert.match(output, /tasks-status-notifications\s*\]\s*SKIPPED/);
    });
  });
}
