import type { IncomingMessage } from 'node:http';
import type { RequestHead } from '../http/request.js';
import { parseRequestTarget } from '../http/request-target.js';

/** A request head that passed the checks, or the status and reason to refuse it with. */
export type HeadCheck = { head: RequestHead; hasBody: boolean } | { status: number; reason: string };

/**
 * Checks what llhttp leaves to us and builds the request head: HTTP/1.0 and
 * 1.1 only (505), the target's length (414), exactly one Host on HTTP/1.1 and
 * at most one Content-Length (400), only the chunked transfer coding (501),
 * asterisk-form for OPTIONS only and well-formed percent-encoding (400).
 */
export function readHead(req: IncomingMessage, remoteAddress: string, maxUriBytes: number): HeadCheck {
  if (req.httpVersionMajor !== 1 || req.httpVersionMinor > 1) {
    return { status: 505, reason: `HTTP/${req.httpVersion} is not supported` };
  }
  const uri = req.url ?? '';
  if (uri.length > maxUriBytes) return { status: 414, reason: `request target longer than ${maxUriBytes} bytes` };
  // One pass over the raw fields.
  const raw = req.rawHeaders;
  let hosts = 0;
  let lengths = 0;
  let hasBody = false;
  let chunked = true;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (isName(name, 'host')) hosts++;
    else if (isName(name, 'content-length')) {
      lengths++;
      if (raw[i + 1] !== '0') hasBody = true;
    } else if (isName(name, 'transfer-encoding')) {
      hasBody = true;
      if (raw[i + 1]!.trim().toLowerCase() !== 'chunked') chunked = false;
    }
  }
  if (hosts === 0 && req.httpVersionMinor === 1)
    return { status: 400, reason: 'HTTP/1.1 request without a Host header' };
  if (hosts > 1) return { status: 400, reason: 'more than one Host header' };
  if (lengths > 1) return { status: 400, reason: 'more than one Content-Length header' };
  // llhttp decodes only chunked; a body in any other coding would reach the handler still encoded.
  if (!chunked) return { status: 501, reason: 'only the chunked transfer coding is supported' };
  if (uri === '*' && req.method !== 'OPTIONS') {
    return { status: 400, reason: 'asterisk-form request target is only valid for OPTIONS' };
  }
  const target = parseRequestTarget(uri);
  if (target === undefined) return { status: 400, reason: 'malformed percent-encoding in the request target' };
  const head: RequestHead = {
    method: req.method ?? 'GET',
    uri,
    httpVersion: req.httpVersionMinor === 0 ? '1.0' : '1.1',
    rawHeaders: raw,
    remoteAddress,
    path: target.path,
    search: target.search,
  };
  return { head, hasBody };
}

/** Case-insensitive match of a header name against a lower-case one, without allocating. */
function isName(name: string, lower: string): boolean {
  if (name.length !== lower.length) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if ((c >= 65 && c <= 90 ? c | 0x20 : c) !== lower.charCodeAt(i)) return false;
  }
  return true;
}
