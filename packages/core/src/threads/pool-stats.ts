import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import type { Job } from './job.js';

export interface PoolStats {
  /** Every worker thread of the pool: busy + idle + starting. */
  workers: number;
  busyWorkers: number;
  /** Ready and running nothing. */
  idleWorkers: number;
  /** Started and still loading the app module: they take requests once it has loaded. */
  startingWorkers: number;
  queuedRequests: number;
  workerRestarts: number;
  /**
   * How long requests waited for a worker to begin them: 0 for one that found
   * a worker free, the time in the queue (or behind another request in a
   * worker's ring) for the others. Since the pool started.
   */
  waitTime: TimeSummary;
  /**
   * From a worker beginning a request to its response (or the head of its
   * stream, or its WebSocket upgrade) reaching the IO thread. Since the pool started.
   */
  runTime: TimeSummary;
}

/** A distribution of durations, in milliseconds (microsecond resolution); all 0 while `count` is 0. */
export interface TimeSummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Records a duration in whole microseconds (a histogram takes integers from 1). */
function recordMs(histogram: RecordableHistogram, ms: number): void {
  histogram.record(Math.max(1, Math.round(ms * 1000)));
}

function summarize(histogram: RecordableHistogram): TimeSummary {
  if (histogram.count === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  const ms = (microseconds: number): number => Math.round(microseconds) / 1000;
  return {
    count: histogram.count,
    mean: ms(histogram.mean),
    p50: ms(histogram.percentile(50)),
    p90: ms(histogram.percentile(90)),
    p99: ms(histogram.percentile(99)),
    max: ms(histogram.max),
  };
}

/** The pool's wait and run times, since it started. */
export class RequestTimes {
  readonly #waitTimes = createHistogram();
  readonly #runTimes = createHistogram();

  /** A worker begins `job` now. */
  begin(job: Job, now: number): void {
    job.startedAt = now;
    recordMs(this.#waitTimes, now - job.queuedAt);
  }

  /** A worker's response (or stream, or upgrade) for `job` has reached the IO thread. */
  answered(job: Job): void {
    job.responded = true;
    if (job.startedAt > 0) recordMs(this.#runTimes, performance.now() - job.startedAt);
  }

  get waitTime(): TimeSummary {
    return summarize(this.#waitTimes);
  }

  get runTime(): TimeSummary {
    return summarize(this.#runTimes);
  }
}
