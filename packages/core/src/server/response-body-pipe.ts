import { pipeline, Readable, type Duplex, type Writable } from 'node:stream';
import type { StreamedBody } from '../http/response-stream.js';
import { describeError, type LogLevel } from '../log/log-handler.js';

/** What the streamed responses of one server share. */
export interface ResponseStreams {
  /** Streamed responses being written now (`respondStream()`, inline or relayed from a worker). */
  open: number;
  log(level: LogLevel, message: string): void;
}

/**
 * Writes a streamed response body to where the response goes (a ServerResponse, or the raw
 * socket of an upgrade request), with back-pressure: a Readable is piped, read only while the
 * socket takes what was written; a body that writes itself (the IO thread's end of a worker's
 * stream) writes at most its window ahead. Every streamed response goes through here, inline or
 * relayed from a worker, so whatever ends the destination — the client leaving, a write error,
 * a timeout that destroys the socket when the client stops taking bytes — ends the body too,
 * and that stops its producer (on a worker, through the relay).
 *
 * A body that fails midway (an error, or destroyed before its end while the client was still
 * there) cannot be answered any more: the destination is destroyed, so the client sees a
 * truncated body rather than a wrong one, and an error line names the request and the cause.
 * `isClientGone` tells the client's leaving (not logged) from the body's failure.
 *
 * `connection` is the request's socket when the destination is a response on it: a pipelined
 * response still queued behind another is never closed by Node when the connection drops, so
 * its body is ended here then.
 */
export function pipeResponseBody(
  body: StreamedBody,
  destination: Writable,
  connection: Duplex | undefined,
  what: string,
  isClientGone: () => boolean,
  streams: ResponseStreams,
  onDone?: (isComplete: boolean) => void,
): void {
  streams.open++;
  const onConnectionClose = (): void => {
    body.destroy();
    destination.destroy();
  };
  connection?.once('close', onConnectionClose);
  const finish = (isComplete: boolean, failure: unknown): void => {
    connection?.off('close', onConnectionClose);
    streams.open--;
    if (failure !== undefined) {
      streams.log(
        'error',
        `${what}: the response body failed midway; the connection was closed: ${describeError(failure)}`,
      );
    }
    onDone?.(isComplete);
  };
  if (!(body instanceof Readable)) {
    body.writeTo(destination, (outcome) => finish(outcome.isComplete, outcome.failure));
    return;
  }
  let failure: unknown;
  const noteFailure = (error: unknown): void => {
    if (failure === undefined && !isClientGone()) failure = error;
  };
  body.once('error', noteFailure);
  body.once('close', () => {
    if (!body.readableEnded && body.errored === null) noteFailure(new Error('the body was destroyed before its end'));
  });
  pipeline(body, destination, (error) => {
    const isComplete = error === undefined || error === null;
    finish(isComplete, isComplete ? undefined : failure);
  });
}
