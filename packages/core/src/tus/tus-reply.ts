import { MxError } from '../errors.js';
import type { HeadersInit } from '../http/headers.js';
import type { Request } from '../http/request.js';
import {
  isHeaderProblem,
  parseNonNegativeInteger,
  parseUploadChecksum,
  tusVersion,
  type UploadChecksum,
} from './tus-headers.js';
import type { UploadInfo } from './upload-store.js';

export const octetStream = 'application/offset+octet-stream';
const textPlain = 'text/plain; charset=utf-8';

/** An answer to a tus request, thrown from anywhere in its handling: its status, message and headers. */
export class TusReply extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function reply(request: Request, status: number, headers: Record<string, string>, message?: string): void {
  const all: HeadersInit = { 'Tus-Resumable': tusVersion, ...headers };
  if (message === undefined || request.method === 'HEAD') request.respond(status, all);
  else request.respond(status, { ...all, 'Content-Type': textPlain }, `${message}\n`);
}

export function checkNotExpired(upload: UploadInfo): void {
  if (upload.expiresAt !== undefined && upload.expiresAt.getTime() <= Date.now()) {
    throw new TusReply(410, 'the upload expired');
  }
}

export function headerNumber(request: Request, name: string): number | undefined {
  const value = parseNonNegativeInteger(name, request.headers.get(name));
  if (isHeaderProblem(value)) throw new TusReply(400, value.problem);
  return value;
}

export function readChecksum(request: Request): UploadChecksum | undefined {
  const checksum = parseUploadChecksum(request.headers.get('upload-checksum'));
  if (isHeaderProblem(checksum)) throw new TusReply(400, checksum.problem);
  return checksum;
}

export function isOctetStream(request: Request): boolean {
  const type = request.headers.get('content-type');
  return type !== undefined && type.split(';')[0]!.trim().toLowerCase() === octetStream;
}

export function contentLengthOf(request: Request): number | undefined {
  const value = request.headers.get('content-length');
  return value === undefined ? undefined : Number(value);
}

/** A full disk or a permission problem, as the client should hear it (5xx). */
export function storageProblem(error: unknown): { status: number; message: string } | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return { status: 507, message: `upload storage is full (${code}); bytes already acknowledged are kept` };
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return { status: 500, message: `upload storage is not writable (${code})` };
  }
  if (error instanceof MxError && error.code === 'MX_ERR_UPLOAD_STORAGE')
    return { status: 500, message: error.message };
  return undefined;
}
