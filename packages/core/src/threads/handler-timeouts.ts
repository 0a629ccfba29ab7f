import { MxError } from '../errors.js';
import { plainResponse } from '../http/response.js';
import type { LogLevel } from '../log/log-handler.js';
import type { Job } from './job.js';

/** Answers a request whose handler has not settled after `timeoutMs` with 503, and logs it. */
export function answerTimedOut(job: Job, timeoutMs: number, log: (level: LogLevel, message: string) => void): void {
  job.responded = true;
  log(
    'error',
    `${new MxError('MX_ERR_HANDLER_TIMEOUT').message} after ${timeoutMs} ms: ${job.head.method} ${job.head.uri}; answered 503`,
  );
  job.sink.send(plainResponse(503, 'Service Unavailable: the handler timed out', ['Retry-After', '1']));
}
