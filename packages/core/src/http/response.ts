import { MxError } from '../errors.js';
import { reasonPhrase } from '../node-modules.js';
import { compress, isCompressibleType, negotiateEncoding, type ResolvedCompression } from './compression.js';
import { equalsIgnoreCase } from './headers.js';

export type ResponseBody = string | Uint8Array;

/** The bytes a body takes on the wire (a string as UTF-8); none is 0. */
export function bodyByteLength(body: ResponseBody | undefined): number {
  return body === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
}

/** A response ready for the wire: final status, flat headers and body. */
export interface PreparedResponse {
  status: number;
  headers: string[];
  body: ResponseBody | undefined;
}

const tokenPattern = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/**
 * Field values may hold visible characters, spaces, tabs and obs-text (RFC 9110 §5.5): no other
 * control character, no DEL, nothing above 0xFF (Node's writeHead refuses those too). A loop,
 * not a regular expression: values are short, and in a worker thread serving a request now and
 * then a regular expression runs cold each time.
 */
function hasBadValueChar(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f || code > 0xff) return true;
  }
  return false;
}

export function validateStatus(status: number): void {
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    throw new MxError('MX_ERR_STATUS_INVALID', String(status));
  }
}

/** Names already checked; responses repeat the same few, so most lookups skip the regex. */
const validNames = new Set<string>();

export function validateHeaders(headers: string[]): void {
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    if (!validNames.has(name)) {
      if (!tokenPattern.test(name)) throw new MxError('MX_ERR_HEADER_INVALID', `name ${JSON.stringify(name)}`);
      if (validNames.size < 1_024) validNames.add(name);
    }
    if (hasBadValueChar(typeof value === 'string' ? value : String(value))) {
      throw new MxError('MX_ERR_HEADER_INVALID', `value of ${name} contains a control character or one above 0xFF`);
    }
  }
}

function indexOfHeader(headers: string[], name: string): number {
  for (let i = 0; i < headers.length; i += 2) if (equalsIgnoreCase(headers[i]!, name)) return i;
  return -1;
}

function removeHeader(headers: string[], name: string): void {
  for (let i = headers.length - 2; i >= 0; i -= 2) if (equalsIgnoreCase(headers[i]!, name)) headers.splice(i, 2);
}

/**
 * Applies the response rules that hold however the response is written:
 * - 1xx, 204 and 304 never carry a body; 1xx and 204 never a Content-Length;
 * - Content-Length is the body's real length; for HEAD a caller's value
 *   (the length GET would send) is kept, otherwise it is computed the same
 *   way as for GET, compression included, and the body is dropped;
 * - compression follows `Accept-Encoding` (see negotiateEncoding) for bodies
 *   over the threshold, compressible types and no Content-Encoding yet, and
 *   adds `Vary: Accept-Encoding` whenever the choice depended on it
 *   (`acceptEncoding` is called only then: reading a request's headers
 *   builds them, which most responses never need);
 * - a caller's Transfer-Encoding is dropped: the body is whole.
 */
export function prepareResponse(
  method: string,
  acceptEncoding: () => string | undefined,
  compression: ResolvedCompression | undefined,
  status: number,
  headers: string[],
  body: ResponseBody | undefined,
): PreparedResponse {
  if (status === 204 || status === 304 || status < 200) {
    removeHeader(headers, 'transfer-encoding');
    if (status !== 304) removeHeader(headers, 'content-length');
    return { status, headers, body: undefined };
  }
  // One pass finds both names (in a worker this runs cold, where each call counts); the length
  // check first spares most names the comparison.
  let lengthAt = -1;
  let hasTransferEncoding = false;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name.length === 14) {
      if (lengthAt === -1 && equalsIgnoreCase(name, 'content-length')) lengthAt = i;
    } else if (name.length === 17 && equalsIgnoreCase(name, 'transfer-encoding')) hasTransferEncoding = true;
  }
  if (hasTransferEncoding) {
    removeHeader(headers, 'transfer-encoding');
    lengthAt = indexOfHeader(headers, 'content-length');
  }
  const isHead = method === 'HEAD';
  let length = bodyByteLength(body);
  if (
    compression !== undefined &&
    length > compression.thresholdBytes &&
    status !== 206 &&
    indexOfHeader(headers, 'content-encoding') === -1 &&
    isCompressibleType(valueOf(headers, 'content-type'))
  ) {
    addVary(headers, 'Accept-Encoding');
    const encoding = negotiateEncoding(acceptEncoding(), compression.encodings);
    if (encoding !== undefined) {
      const input = typeof body === 'string' ? Buffer.from(body) : body!;
      const compressed = compress(input, encoding);
      if (compressed.byteLength < length) {
        body = compressed;
        length = compressed.byteLength;
        headers.push('Content-Encoding', encoding);
      }
    }
  }
  // Headers added above (Vary, Content-Encoding) went to the end: lengthAt still holds.
  if (lengthAt === -1) headers.push('Content-Length', String(length));
  else if (!(isHead && length === 0)) {
    removeHeader(headers, 'content-length');
    headers.push('Content-Length', String(length));
  }
  return { status, headers, body: isHead ? undefined : body };
}

function valueOf(headers: string[], name: string): string | undefined {
  const i = indexOfHeader(headers, name);
  return i === -1 ? undefined : headers[i + 1];
}

function addVary(headers: string[], field: string): void {
  const i = indexOfHeader(headers, 'vary');
  if (i === -1) {
    headers.push('Vary', field);
    return;
  }
  const current = headers[i + 1]!;
  const items = current.split(',').map((s) => s.trim().toLowerCase());
  if (items.includes('*') || items.includes(field.toLowerCase())) return;
  headers[i + 1] = `${current}, ${field}`;
}

/** A small plain-text response the server writes by itself (errors, refusals). */
export function plainResponse(status: number, text: string, extra: string[] = []): PreparedResponse {
  const body = `${text}\n`;
  return {
    status,
    headers: ['Content-Type', 'text/plain; charset=utf-8', 'Content-Length', String(Buffer.byteLength(body)), ...extra],
    body,
  };
}

/** The server's own refusal of a request: `Reason Phrase: why`, and the connection closes. */
export function refusalResponse(status: number, reason: string): PreparedResponse {
  return plainResponse(status, `${reasonPhrase(status) ?? 'Error'}: ${reason}`, ['Connection', 'close']);
}
