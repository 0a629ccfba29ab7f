import { MxError } from '../errors.js';
import type { Headers } from '../http/headers.js';
import type { Request } from '../http/request.js';
import { joinChunks, readWhole } from './response-body.js';

/**
 * Answers a response whose body must be streamed where `respondStream()` is not available:
 * on a worker thread (and on an upgrade request). Until workers can stream, the body is read
 * whole and sent with `respond()`, up to `maxBufferedBodyBytes`; an event stream, which never
 * ends, cannot be. Both failures throw an `MxError` (status 500), which the server answers with
 * a 500 and logs. This whole function goes once worker threads stream responses.
 */
export async function respondWithoutStreaming(
  request: Request,
  status: number,
  headers: Headers,
  reader: ReadableStreamDefaultReader<unknown>,
  isEventStream: boolean,
  maxBufferedBodyBytes: number,
): Promise<void> {
  const where = `${request.toString()} cannot stream its response here (worker threads cannot stream yet)`;
  const advice = 'pin the route with { inline: true } to stream it';
  if (isEventStream) {
    await reader.cancel().catch(() => {});
    throw new MxError(
      'MX_ERR_STREAM_UNSUPPORTED',
      `the fetch handler answered text/event-stream, but ${where}; ${advice}`,
      {
        status: 500,
      },
    );
  }
  const body = await readWhole(reader, maxBufferedBodyBytes);
  if (body === undefined) {
    throw new MxError(
      'MX_ERR_STREAM_UNSUPPORTED',
      `${where}, so its body is read whole, and this one passed maxBufferedBodyBytes (${maxBufferedBodyBytes}); ${advice}`,
      { status: 500 },
    );
  }
  request.respond(status, headers, joinChunks(body.chunks, body.bytes));
}
