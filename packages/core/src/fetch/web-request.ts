import type { Readable } from 'node:stream';
import type { Headers as ServerHeaders } from '../http/headers.js';

/**
 * `host [":" port]` as RFC 9110 §7.2 allows it: a registered name (unreserved, sub-delims,
 * percent-escapes) or a bracketed IP literal. Anything else — `/`, `?`, `#`, `@`, `\` — would
 * change which path, query or authority the URL built from it names, so the fetch handler
 * would see another resource than the router matched.
 */
const hostPattern = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::[0-9]*)?$/;

const absoluteForm = /^https?:\/\//i;

/**
 * The absolute URL of a request, for a web `Request`. An origin-form target (`/path?query`)
 * is joined to `http://` and the request's `Host`; an HTTP/1.0 request without one, or with
 * an empty one, is given `localhost`. The asterisk form (`OPTIONS *`) names the root. An
 * absolute-form `http:` or `https:` target is used as it is (RFC 9112 §3.2.2: it wins over
 * `Host`). Returns `undefined` for a `Host` that is not a host and port, and for any other
 * target (authority form, other schemes).
 */
export function requestUrlOf(uri: string, host: string | undefined): string | undefined {
  const first = uri.charCodeAt(0);
  if (first !== 0x2f /* / */ && uri !== '*') return absoluteForm.test(uri) ? uri : undefined;
  let authority = 'localhost';
  if (host !== undefined && host !== '') {
    if (!hostPattern.test(host)) return undefined;
    authority = host;
  }
  return first === 0x2f ? `http://${authority}${uri}` : `http://${authority}/`;
}

/** Methods a web `Request` cannot carry (the Fetch standard forbids them). */
export function isForbiddenMethod(method: string): boolean {
  const upper = method.toUpperCase();
  return upper === 'CONNECT' || upper === 'TRACE' || upper === 'TRACK';
}

/**
 * How a request's body reaches a web `Request`: `'none'` when it has none (or may carry
 * none: a web `Request` for GET or HEAD has no body), `'buffered'` when the route buffered
 * it (`request.body`), `'stream'` when the route takes it as a stream (`request.bodyStream`).
 *
 * The framing headers tell which: a route buffers a declared body whole before its handler
 * runs, so a declared body that left `request.body` empty is a streamed one (or an empty
 * chunked one, whose `bodyStream` is empty too).
 */
export function bodyKindOf(
  method: string,
  bufferedBytes: number,
  headers: ServerHeaders,
): 'none' | 'buffered' | 'stream' {
  if (method === 'GET' || method === 'HEAD') return 'none';
  if (bufferedBytes > 0) return 'buffered';
  if (headers.has('transfer-encoding')) return 'stream';
  const length = headers.get('content-length');
  return length !== undefined && length !== '0' ? 'stream' : 'none';
}

/**
 * A web ReadableStream over a Node Readable that reads the Readable only when the stream's
 * reader asks (high-water mark 0): a fetch handler that does not read its body holds the
 * client back, as a stream-bodied route does. Cancelling the stream destroys the Readable;
 * a Readable that fails errors the stream.
 */
export function webStreamOf(readable: Readable): ReadableStream<Uint8Array> {
  const chunks = readable[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller): Promise<void> {
        const next = await chunks.next();
        if (next.done === true) controller.close();
        else controller.enqueue(typeof next.value === 'string' ? Buffer.from(next.value) : next.value);
      },
      async cancel(reason): Promise<void> {
        readable.destroy(reason instanceof Error ? reason : undefined);
        await chunks.return?.();
      },
    },
    { highWaterMark: 0 },
  );
}
