import { open, rm } from 'node:fs/promises';
import { MxError } from '../errors.js';
import type { Request } from '../http/request.js';
import { nodeCrypto } from '../node-modules.js';
import type { TusContext } from './tus-context.js';
import { isHeaderProblem, parseUploadMetadata } from './tus-headers.js';
import { TusReply, contentLengthOf, headerNumber, isOctetStream, readChecksum, reply } from './tus-reply.js';
import { appendBody, copyFileRange, finishUpload } from './upload-append.js';
import { idPattern, type StoredState } from './upload-store.js';

/**
 * POST on the upload collection: creation (with `Upload-Length`, or
 * `Upload-Defer-Length: 1`), creation-with-upload (a body is the first chunk),
 * and concatenation (`Upload-Concat: partial`, or `final;` with the parts).
 */
export async function createUpload(ctx: TusContext, request: Request): Promise<void> {
  const concat = request.headers.get('upload-concat')?.trim();
  if (concat !== undefined && concat.startsWith('final;')) return createFinal(ctx, request, concat.slice(6));
  if (concat !== undefined && concat !== 'partial') {
    throw new TusReply(400, 'Upload-Concat must be "partial" or "final;<upload URLs>"');
  }
  const length = headerNumber(request, 'Upload-Length');
  const deferred = request.headers.get('upload-defer-length');
  if (deferred !== undefined && deferred.trim() !== '1') throw new TusReply(400, 'Upload-Defer-Length must be 1');
  if (length === undefined && deferred === undefined) {
    throw new TusReply(400, 'Upload-Length or Upload-Defer-Length: 1 is required');
  }
  if (length !== undefined && deferred !== undefined) {
    throw new TusReply(400, 'send either Upload-Length or Upload-Defer-Length, not both');
  }
  if (length !== undefined && ctx.maxSize !== undefined && length > ctx.maxSize) {
    throw new TusReply(413, `Upload-Length ${length} exceeds Tus-Max-Size ${ctx.maxSize}`);
  }
  const metadata = parseUploadMetadata(request.headers.get('upload-metadata'));
  if (isHeaderProblem(metadata)) throw new TusReply(400, metadata.problem);
  const hasBody = isOctetStream(request) && contentLengthOf(request) !== 0;
  const checksum = hasBody ? readChecksum(request) : undefined;
  const id = nodeCrypto().randomBytes(16).toString('hex');
  const now = Date.now();
  const state: StoredState = {
    version: 1,
    id,
    length: length ?? null,
    metadata: { ...metadata },
    createdAt: new Date(now).toISOString(),
    expiresAt: ctx.expirationMs > 0 && length !== 0 ? new Date(now + ctx.expirationMs).toISOString() : null,
  };
  if (concat === 'partial') state.partial = true;
  await runCreateHook(ctx, state);
  await ctx.store.prepareDirectory();
  const file = await open(ctx.store.dataPath(id), 'wx');
  await file.close();
  try {
    await ctx.store.writeState(state);
  } catch (error) {
    // A full disk lets the empty data file be made and fails the state: no upload exists, and
    // nothing of it may stay behind.
    await rm(ctx.store.dataPath(id), { force: true }).catch(() => {});
    throw error;
  }
  const headers: Record<string, string> = { Location: ctx.basePath + id };
  if (!hasBody) {
    if (state.expiresAt !== null) headers['Upload-Expires'] = new Date(state.expiresAt).toUTCString();
    if (length === 0) await finishUpload(ctx, ctx.store.info(state, 0));
    reply(request, 201, headers);
    return;
  }
  // creation-with-upload: the body is the first chunk, at offset 0.
  const release = await ctx.locks.acquire(id, ctx.lockTimeoutMs);
  try {
    const result = await appendBody(ctx, request, state, 0, checksum);
    Object.assign(headers, result.headers);
    reply(request, 201, headers);
  } finally {
    release?.();
  }
}

async function runCreateHook(ctx: TusContext, state: StoredState): Promise<void> {
  const hook = ctx.onUploadCreate;
  if (hook === undefined) return;
  try {
    await hook(ctx.store.info(state, 0));
  } catch (error) {
    const status = error instanceof MxError && error.status !== undefined ? error.status : 500;
    const message = status < 500 && error instanceof Error ? error.message : 'onUploadCreate failed';
    throw new TusReply(status, message);
  }
}

/**
 * Concatenation: a final upload made of finished partial uploads, in the
 * order listed. Their bytes are copied into a new data file (the partials
 * stay, and may be used again) while each partial is locked.
 */
async function createFinal(ctx: TusContext, request: Request, list: string): Promise<void> {
  if (request.headers.get('upload-length') !== undefined || request.headers.get('upload-defer-length') !== undefined) {
    throw new TusReply(400, 'a final upload takes its length from its parts: send no Upload-Length');
  }
  if (isOctetStream(request) && contentLengthOf(request) !== 0) {
    throw new TusReply(400, 'a final upload cannot carry data');
  }
  const metadata = parseUploadMetadata(request.headers.get('upload-metadata'));
  if (isHeaderProblem(metadata)) throw new TusReply(400, metadata.problem);
  const parts = list
    .trim()
    .split(/ +/)
    .filter((item) => item !== '')
    .map((item) => {
      let path: string;
      try {
        path = new URL(item, 'http://host').pathname;
      } catch {
        path = '';
      }
      const partId = path.startsWith(ctx.basePath) ? path.slice(ctx.basePath.length) : '';
      if (!idPattern.test(partId))
        throw new TusReply(400, `Upload-Concat: ${JSON.stringify(item)} is not an upload here`);
      return partId;
    });
  if (parts.length === 0) throw new TusReply(400, 'Upload-Concat: final needs at least one partial upload');
  // Each distinct part locked once, in a fixed order, so two finals never wait on each other.
  const releases: Array<() => void> = [];
  try {
    for (const partId of [...new Set(parts)].sort()) {
      const release = await ctx.locks.acquire(partId, ctx.lockTimeoutMs);
      if (release === undefined) throw new TusReply(423, `partial upload ${partId} is busy; retry later`);
      releases.push(release);
    }
    let length = 0;
    for (const partId of parts) {
      const [state, offset] = [await ctx.store.readState(partId), await ctx.store.offsetOf(partId)];
      if (state === undefined || offset === undefined)
        throw new TusReply(400, `partial upload ${partId} does not exist`);
      if (state.partial !== true) throw new TusReply(400, `upload ${partId} was not created as partial`);
      if (state.length === null || offset < state.length) {
        throw new TusReply(400, `partial upload ${partId} is not finished`);
      }
      length += offset;
    }
    if (ctx.maxSize !== undefined && length > ctx.maxSize) {
      throw new TusReply(413, `the parts add up to ${length} bytes, over Tus-Max-Size ${ctx.maxSize}`);
    }
    const id = nodeCrypto().randomBytes(16).toString('hex');
    const state: StoredState = {
      version: 1,
      id,
      length,
      metadata: { ...metadata },
      createdAt: new Date().toISOString(),
      expiresAt: null,
      parts,
    };
    await runCreateHook(ctx, state);
    await ctx.store.prepareDirectory();
    // The data first, the state last: until the state exists the final upload does not.
    const target = await open(ctx.store.dataPath(id), 'wx');
    try {
      let position = 0;
      for (const partId of parts) {
        const source = await open(ctx.store.dataPath(partId), 'r');
        try {
          const size = (await source.stat()).size;
          await copyFileRange(source, target, size, position);
          position += size;
        } finally {
          await source.close();
        }
      }
    } catch (error) {
      await target.close();
      await rm(ctx.store.dataPath(id), { force: true });
      throw error;
    }
    await target.close();
    await ctx.store.writeState(state);
    await finishUpload(ctx, ctx.store.info(state, length));
    reply(request, 201, { Location: ctx.basePath + id });
  } finally {
    for (const release of releases) release();
  }
}
