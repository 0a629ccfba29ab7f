import { createReadStream, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { Readable } from 'node:stream';
import { nodeCrypto } from '../node-modules.js';
import { Headers, type HeadersInit } from './headers.js';
import { parseRange, type ByteRange } from './byte-ranges.js';
import type { Request } from './request.js';
import { FileRangeReadable } from './file-range-readable.js';

export interface ServeFileOptions {
  /** Content-Type. Default: from the file extension (a short built-in table), else application/octet-stream. */
  contentType?: string;
  /** Extra response headers (Cache-Control, Content-Disposition, CORS). */
  headers?: HeadersInit;
}

const types: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.mp3': 'audio/mpeg',
  '.wasm': 'application/wasm',
};

/**
 * Answers a GET or HEAD with a file from disk, streamed (never read whole on
 * the IO thread):
 * - `Accept-Ranges: bytes`; `Range` gives 206 with `Content-Range`, several
 *   ranges a `multipart/byteranges` body (CRLF line ends), and a range past
 *   the end 416 with `Content-Range: bytes *\/size`; a malformed `Range` is
 *   ignored (200), as RFC 9110 allows;
 * - `ETag` (from size and modification time) and `Last-Modified`;
 *   `If-None-Match` / `If-Modified-Since` give 304, and `If-Range` that does
 *   not match sends the whole file instead of the ranges;
 * - a missing path or a directory gives 404.
 *
 * The bytes are streamed with `respondStream()`, any size, with back-pressure:
 * on the IO thread (inline mode, or `inline`/stream-bodied routes) the file is
 * piped to the socket; on a worker thread it is read there straight into the
 * memory the IO thread writes to the socket from, at most 256 KiB ahead of the
 * client (see `respondStream()`).
 */
export async function serveFile(request: Request, path: string, options: ServeFileOptions = {}): Promise<void> {
  let info: Stats;
  try {
    info = await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      notFound(request);
      return;
    }
    throw error;
  }
  if (!info.isFile()) {
    notFound(request);
    return;
  }
  const size = info.size;
  const etag = `"${size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
  const modifiedSeconds = Math.floor(info.mtimeMs / 1000);
  const headers = new Headers(options.headers);
  headers.set('Accept-Ranges', 'bytes');
  headers.set('ETag', etag);
  headers.set('Last-Modified', new Date(modifiedSeconds * 1000).toUTCString());
  const contentType = options.contentType ?? types[extname(path).toLowerCase()] ?? 'application/octet-stream';

  if (isNotModified(request, etag, modifiedSeconds)) {
    request.respond(304, headers);
    return;
  }
  let range = parseRange(request.headers.get('range'), size);
  if (range.kind !== 'whole' && !ifRangeMatches(request.headers.get('if-range'), etag, modifiedSeconds)) {
    range = { kind: 'whole' };
  }
  if (range.kind === 'unsatisfiable') {
    headers.set('Content-Range', `bytes */${size}`);
    headers.set('Content-Type', 'text/plain; charset=utf-8');
    request.respond(416, headers, `Range Not Satisfiable: the file has ${size} bytes\n`);
    return;
  }
  if (range.kind === 'whole') {
    headers.set('Content-Type', contentType);
    send(request, 200, headers, [{ start: 0, end: size - 1 }], size, path);
    return;
  }
  if (range.ranges.length === 1) {
    const only = range.ranges[0]!;
    headers.set('Content-Type', contentType);
    headers.set('Content-Range', `bytes ${only.start}-${only.end}/${size}`);
    send(request, 206, headers, range.ranges, only.end - only.start + 1, path);
    return;
  }
  // multipart/byteranges (RFC 9110 §14.6): each part has its own Content-Type and Content-Range.
  const boundary = `mx-${nodeCrypto().randomBytes(12).toString('hex')}`;
  const parts = range.ranges.map((r) => ({
    head: Buffer.from(
      `\r\n--${boundary}\r\nContent-Type: ${contentType}\r\nContent-Range: bytes ${r.start}-${r.end}/${size}\r\n\r\n`,
    ),
    range: r,
  }));
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const length = parts.reduce((sum, p) => sum + p.head.length + p.range.end - p.range.start + 1, tail.length);
  headers.set('Content-Type', `multipart/byteranges; boundary=${boundary}`);
  send(request, 206, headers, range.ranges, length, path, { parts, tail });
}

interface Multipart {
  parts: Array<{ head: Buffer; range: ByteRange }>;
  tail: Buffer;
}

function send(
  request: Request,
  status: number,
  headers: Headers,
  ranges: ByteRange[],
  length: number,
  path: string,
  multipart?: Multipart,
): void {
  headers.set('Content-Length', String(length));
  let body: Readable | undefined;
  if (request.method !== 'HEAD' && length > 0) {
    body =
      multipart === undefined
        ? new FileRangeReadable(path, ranges[0]!.start, ranges[0]!.end)
        : Readable.from(multipartBody(path, multipart));
  }
  request.respondStream(status, headers, body);
}

async function* multipartBody(path: string, multipart: Multipart): AsyncGenerator<Buffer> {
  for (const part of multipart.parts) {
    yield part.head;
    for await (const chunk of createReadStream(path, { start: part.range.start, end: part.range.end })) {
      yield chunk as Buffer;
    }
  }
  yield multipart.tail;
}

function notFound(request: Request): void {
  request.respond(404, { 'Content-Type': 'text/plain; charset=utf-8' }, 'Not Found\n');
}

/** RFC 9110 §13.1.2 and §13.1.3: If-None-Match wins over If-Modified-Since. */
function isNotModified(request: Request, etag: string, modifiedSeconds: number): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const noneMatch = request.headers.get('if-none-match');
  if (noneMatch !== undefined) {
    if (noneMatch.trim() === '*') return true;
    // Weak comparison: W/"x" matches "x".
    return noneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
  }
  const since = request.headers.get('if-modified-since');
  if (since === undefined) return false;
  const time = Date.parse(since);
  return !Number.isNaN(time) && modifiedSeconds * 1000 <= time;
}

/** RFC 9110 §13.1.5: an entity tag must match strongly; a date must equal Last-Modified. */
function ifRangeMatches(ifRange: string | undefined, etag: string, modifiedSeconds: number): boolean {
  if (ifRange === undefined) return true;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return value === etag;
  const time = Date.parse(value);
  return !Number.isNaN(time) && time === modifiedSeconds * 1000;
}
