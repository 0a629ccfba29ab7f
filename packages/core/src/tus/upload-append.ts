import { open, rm, type FileHandle } from 'node:fs/promises';
import type { Request } from '../http/request.js';
import { nodeCrypto } from '../node-modules.js';
import { copyBody } from './body-copy.js';
import type { TusContext } from './tus-context.js';
import type { UploadChecksum } from './tus-headers.js';
import {
  TusReply,
  checkNotExpired,
  contentLengthOf,
  headerNumber,
  isOctetStream,
  octetStream,
  readChecksum,
  reply,
} from './tus-reply.js';
import type { StoredState, UploadInfo } from './upload-store.js';

/**
 * PATCH on an upload: appends the body at `Upload-Offset`, which must be the
 * upload's offset (409 otherwise), under the upload's lock; a deferred length
 * may be declared now.
 */
export async function patchUpload(ctx: TusContext, request: Request, id: string): Promise<void> {
  if (!isOctetStream(request)) throw new TusReply(415, `PATCH needs Content-Type: ${octetStream}`);
  const offset = headerNumber(request, 'Upload-Offset');
  if (offset === undefined) throw new TusReply(400, 'Upload-Offset is required');
  const declaredLength = headerNumber(request, 'Upload-Length');
  const checksum = readChecksum(request);
  const release = await ctx.locks.acquire(id, ctx.lockTimeoutMs);
  if (release === undefined) throw new TusReply(423, 'another request is writing to this upload; retry later');
  try {
    const state = await ctx.store.readState(id);
    if (state === undefined) throw new TusReply(404, 'no such upload');
    const current = await ctx.store.offsetOf(id);
    if (current === undefined) throw new TusReply(404, 'no such upload');
    if (state.parts !== undefined) throw new TusReply(403, 'a final upload cannot be patched');
    checkNotExpired(ctx.store.info(state, current));
    if (offset !== current) {
      throw new TusReply(409, `Upload-Offset ${offset} does not match the upload's offset ${current}`, {
        'Upload-Offset': String(current),
      });
    }
    if (declaredLength !== undefined) {
      if (state.length !== null && state.length !== declaredLength) {
        throw new TusReply(400, `Upload-Length is already ${state.length}`);
      }
      if (declaredLength < current) throw new TusReply(400, `Upload-Length ${declaredLength} is below the offset`);
      if (ctx.maxSize !== undefined && declaredLength > ctx.maxSize) {
        throw new TusReply(413, `Upload-Length ${declaredLength} exceeds Tus-Max-Size ${ctx.maxSize}`);
      }
      if (state.length === null) {
        state.length = declaredLength;
        await ctx.store.writeState(state);
      }
    }
    const result = await appendBody(ctx, request, state, current, checksum);
    reply(request, 204, result.headers);
  } finally {
    release();
  }
}

/**
 * Writes the request body at `offset` (the lock is held) and returns the
 * headers of the answer. With a checksum the body goes to a side file first
 * and joins the data only once its digest matches (460 otherwise).
 */
export async function appendBody(
  ctx: TusContext,
  request: Request,
  state: StoredState,
  offset: number,
  checksum: UploadChecksum | undefined,
): Promise<{ headers: Record<string, string> }> {
  const room = state.length === null ? (ctx.maxSize ?? Number.MAX_SAFE_INTEGER) - offset : state.length - offset;
  const declared = contentLengthOf(request);
  if (declared !== undefined && declared > room) {
    throw new TusReply(413, `${declared} bytes at offset ${offset} would exceed the upload's length`);
  }
  const dataPath = ctx.store.dataPath(state.id);
  let lastProgress = 0;
  const progress = (written: number, force: boolean): void => {
    const hook = ctx.onProgress;
    if (hook === undefined) return;
    const now = Date.now();
    if (!force && now - lastProgress < ctx.progressIntervalMs) return;
    lastProgress = now;
    try {
      hook(ctx.store.info(state, offset + written));
    } catch {
      // A failing progress hook must not fail the upload.
    }
  };
  let written: number;
  let overflow: boolean;
  let failure: unknown;
  if (checksum === undefined) {
    const file = await open(dataPath, 'r+');
    try {
      ({
        written,
        overflow,
        error: failure,
      } = await copyBody(request.bodyStream, file, offset, room, undefined, (n) => progress(n, false)));
    } finally {
      await file.close();
    }
  } else {
    ({ written, overflow, error: failure } = await appendVerified(request, dataPath, offset, room, checksum));
  }
  const newOffset = offset + written;
  if (ctx.expirationMs > 0 && written > 0) {
    state.expiresAt = new Date(Date.now() + ctx.expirationMs).toISOString();
    await ctx.store.writeState(state);
  }
  progress(written, true);
  if (overflow) throw new TusReply(413, `the body runs past the upload's length; kept ${written} bytes`);
  if (failure !== undefined) {
    if (failure instanceof TusReply) throw failure;
    throw new TusReply(400, `the request body ended early; kept ${written} bytes`);
  }
  const info = ctx.store.info(state, newOffset);
  const headers: Record<string, string> = { 'Upload-Offset': String(newOffset) };
  if (info.expiresAt !== undefined) headers['Upload-Expires'] = info.expiresAt.toUTCString();
  if (info.complete && written > 0 && state.partial !== true) await finishUpload(ctx, info);
  return { headers };
}

async function appendVerified(
  request: Request,
  dataPath: string,
  offset: number,
  room: number,
  checksum: UploadChecksum,
): Promise<{ written: number; overflow: boolean; error: unknown }> {
  const sidePath = `${dataPath}.chunk-${nodeCrypto().randomBytes(4).toString('hex')}`;
  const hash = nodeCrypto().createHash(checksum.algorithm);
  let side: FileHandle | undefined = await open(sidePath, 'wx+');
  try {
    const result = await copyBody(request.bodyStream, side, 0, room, hash, () => {});
    // A chunk that did not arrive whole cannot be verified: it is discarded, like a mismatch.
    if (result.overflow || result.error !== undefined)
      return { written: 0, overflow: result.overflow, error: result.error };
    if (!hash.digest().equals(checksum.digest)) {
      return {
        written: 0,
        overflow: false,
        error: new TusReply(460, `Upload-Checksum ${checksum.algorithm} does not match the chunk; it was discarded`),
      };
    }
    const file = await open(dataPath, 'r+');
    try {
      await copyFileRange(side, file, result.written, offset);
    } finally {
      await file.close();
    }
    await side.close();
    side = undefined;
    return { written: result.written, overflow: false, error: undefined };
  } finally {
    await side?.close();
    await rm(sidePath, { force: true });
  }
}

export async function finishUpload(ctx: TusContext, upload: UploadInfo): Promise<void> {
  const hook = ctx.onUploadFinish;
  if (hook === undefined) return;
  try {
    await hook(upload);
  } catch (error) {
    throw new TusReply(500, `the upload is complete but onUploadFinish failed: ${describe(error)}`);
  }
}

/** Appends `length` bytes of `from` (from its start) to `to` at `position`, 1 MiB at a time. */
export async function copyFileRange(from: FileHandle, to: FileHandle, length: number, position: number): Promise<void> {
  const buffer = Buffer.allocUnsafe(Math.min(length, 1024 * 1024));
  let done = 0;
  while (done < length) {
    const { bytesRead } = await from.read(buffer, 0, Math.min(buffer.length, length - done), done);
    if (bytesRead === 0) throw new Error('the checksummed chunk is shorter than written');
    let at = 0;
    while (at < bytesRead) {
      const { bytesWritten } = await to.write(buffer, at, bytesRead - at, position + done + at);
      at += bytesWritten;
    }
    done += bytesRead;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
