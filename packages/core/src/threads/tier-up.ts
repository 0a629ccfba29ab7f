/**
 * V8 optimizes a function once it has run often enough in one isolate. A
 * worker runs only its share of the requests, so with a pool of N workers
 * the code on a worker's path reaches that count N times later than on one
 * thread: under a load spread over 100 workers, a worker still spent about
 * 1.5 times the CPU per request after 15 s that it spends once optimized.
 * Baseline code loads every property and makes every call through V8's
 * inline caches, and in a worker that runs a request every few
 * milliseconds each of those misses the CPU's caches.
 *
 * The thresholds are V8 flags, which belong to the process: lowering them
 * makes V8 optimize sooner on every thread, the IO thread included, at the
 * price of some compiling early on.
 */
import { setFlagsFromString } from 'node:v8';

/** A V8 flag that decides when code is optimized, with its default value. */
interface TierUpFlag {
  name: string;
  defaultValue: number;
}

/**
 * Before V8 12 (Node 20), a function is optimized after it has run a budget
 * of bytecode; from V8 12 (Node 22 on), after a number of calls, and Maglev
 * (on by default from Node 24) has its own count below TurboFan's.
 */
function tierUpFlags(v8Version: string): TierUpFlag[] {
  const major = Number.parseInt(v8Version, 10);
  if (major < 12) return [{ name: 'interrupt-budget', defaultValue: 67_584 }];
  return [
    { name: 'invocation-count-for-turbofan', defaultValue: 3_000 },
    { name: 'invocation-count-for-maglev', defaultValue: 400 },
  ];
}

/** The factor last applied, so pools started one after another set the flags once. */
let appliedFactor = 1;

/** True when node's command line gives `name` (dashes or underscores; `=value` or the next argument). */
function onCommandLine(name: string): boolean {
  const spellings = [`--${name}`, `--${name.replaceAll('-', '_')}`];
  // Whole names only: --interrupt-budget-for-feedback-allocation is another flag.
  return process.execArgv.some((arg) => spellings.some((flag) => arg === flag || arg.startsWith(`${flag}=`)));
}

/**
 * Divides V8's tier-up thresholds by `factor` (1 leaves them alone). A
 * threshold given on node's command line is kept: the user chose it.
 */
export function applyTierUpFactor(factor: number): void {
  if (factor === appliedFactor) return;
  appliedFactor = factor;
  for (const flag of tierUpFlags(process.versions.v8)) {
    if (onCommandLine(flag.name)) continue;
    setFlagsFromString(`--${flag.name}=${Math.max(1, Math.round(flag.defaultValue / factor))}`);
  }
}
