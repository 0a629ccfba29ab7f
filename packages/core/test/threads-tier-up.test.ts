// tierUpFactor: a threaded server makes V8 optimize hot code sooner. Read from V8's own trace
// (`--trace-opt`) in a child process that calls a small function a fixed number of times.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createServer, MxError } from '@mummyx/core';
import { appUrl } from './threads-helpers.js';

const probe = fileURLToPath(new URL('./fixtures/tier-up-probe.js', import.meta.url));

/** The command-line flag holding V8's TurboFan threshold on this Node, at its default value. */
const defaultThresholdFlag =
  Number.parseInt(process.versions.v8, 10) < 12 ? '--interrupt-budget=67584' : '--invocation-count-for-turbofan=3000';

/** Runs the probe and returns whether V8 marked it for TurboFan, with the whole output. */
async function probeOptimized(nodeFlags: string[], factor?: number): Promise<{ optimized: boolean; output: string }> {
  const args = [...nodeFlags, '--trace-opt', probe, ...(factor === undefined ? [] : [String(factor)])];
  const { stdout, stderr } = await promisify(execFile)(process.execPath, args, {
    timeout: 20_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.match(stdout, /probe done/, `the probe ran to its end: ${stderr}`);
  assert.doesNotMatch(stderr, /unrecognized flag/, 'every V8 flag set exists on this Node');
  return { optimized: /marking .*tierUpProbe.* for optimization to TURBOFAN/.test(stdout), output: stdout + stderr };
}

test('by default a threaded server has V8 optimize hot code sooner: 1 500 calls are enough', async () => {
  const { optimized, output } = await probeOptimized([]);
  assert.ok(optimized, `tierUpProbe was not marked for TurboFan:\n${output.slice(-2_000)}`);
});

test('tierUpFactor 1 leaves V8 alone: 1 500 calls are not enough', async () => {
  const { optimized, output } = await probeOptimized([], 1);
  assert.equal(optimized, false, `tierUpProbe was marked for TurboFan:\n${output.slice(-2_000)}`);
});

test("a threshold given on node's command line is kept", async () => {
  const { optimized, output } = await probeOptimized([defaultThresholdFlag], 8);
  assert.equal(optimized, false, `tierUpProbe was marked for TurboFan:\n${output.slice(-2_000)}`);
});

test("a longer flag whose name starts with a threshold's is not taken for it", async () => {
  // Another V8 flag, at its default value: the threshold itself is still lowered.
  const sibling =
    Number.parseInt(process.versions.v8, 10) < 12
      ? '--interrupt-budget-for-feedback-allocation=940'
      : '--invocation-count-for-maglev-osr=100';
  const { optimized, output } = await probeOptimized([sibling], 8);
  assert.ok(optimized, `tierUpProbe was not marked for TurboFan:\n${output.slice(-2_000)}`);
});

test('tierUpFactor outside 1–1000 or not an integer is refused', () => {
  for (const tierUpFactor of [0, -2, 1.5, 1_001, Number.NaN]) {
    assert.throws(
      () => createServer({ app: appUrl, threads: 1, tierUpFactor }),
      (error: unknown) =>
        error instanceof MxError && error.code === 'MX_ERR_OPTION_INVALID' && /tierUpFactor/.test(error.message),
      `tierUpFactor ${tierUpFactor}`,
    );
  }
});
