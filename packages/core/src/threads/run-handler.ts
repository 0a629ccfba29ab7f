import { MxError } from '../errors.js';
import type { Request } from '../http/request.js';
import { describeError, type LogLevel } from '../log/log-handler.js';
import type { RequestHandler } from '../router/router.js';

export type LogFn = (level: LogLevel, message: string) => void;

/**
 * Runs a handler to completion, on whichever thread the request lives. A
 * handler that throws or rejects gets a 500 (unless it had responded) and an
 * error log line with the stack; one that finishes without responding gets a
 * 500 and a log line. Resolves once the handler has settled.
 */
export function runHandler(handler: RequestHandler, request: Request, log: LogFn): Promise<void> | undefined {
  let result: void | Promise<void>;
  try {
    result = handler(request);
  } catch (error) {
    failRequest(request, error, log);
    return undefined;
  }
  if (result !== undefined && typeof result.then === 'function') {
    return result.then(
      () => checkResponded(request, log),
      (error: unknown) => failRequest(request, error, log),
    );
  }
  checkResponded(request, log);
  return undefined;
}

function checkResponded(request: Request, log: LogFn): void {
  if (request.responded) return;
  log('error', `${new MxError('MX_ERR_NO_RESPONSE').message}: ${request.toString()}`);
  respondInternalError(request);
}

function failRequest(request: Request, error: unknown, log: LogFn): void {
  // A refusal the server already answered (426, 403, 400 on an upgrade) is the client's mistake.
  if (error instanceof MxError && error.status !== undefined && error.status < 500 && request.responded) {
    log('debug', `${request.toString()}: ${error.message}`);
    return;
  }
  log('error', `handler error for ${request.toString()}: ${describeError(error)}`);
  if (!request.responded) respondInternalError(request);
}

export function respondInternalError(request: Request): void {
  request.respond(500, { 'Content-Type': 'text/plain; charset=utf-8' }, 'Internal Server Error');
}
