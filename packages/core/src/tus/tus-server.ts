import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { MxError } from '../errors.js';
import type { HeadersInit } from '../http/headers.js';
import type { Request } from '../http/request.js';
import type { Router } from '../router/router.js';
import { copyBody } from './body-copy.js';
import {
  checksumAlgorithms,
  formatUploadMetadata,
  isHeaderProblem,
  parseNonNegativeInteger,
  parseUploadChecksum,
  parseUploadMetadata,
  tusVersion,
  type UploadChecksum,
} from './tus-headers.js';
import { UploadLocks, type UploadLocker } from './upload-locks.js';

/** One upload as stored on disk. */
export interface UploadInfo {
  /** 32 lower-case hex characters from a CSPRNG. */
  id: string;
  /** Bytes received and written so far. */
  offset: number;
  /** Total size, or undefined while the client deferred it (`Upload-Defer-Length`). */
  length: number | undefined;
  /** `Upload-Metadata`, values decoded as UTF-8. Never used as a path by the server. */
  metadata: Record<string, string>;
  /** True once `offset === length`. */
  complete: boolean;
  /** Absolute path of the data file. */
  dataPath: string;
  /** When an unfinished upload expires; undefined when it never does (finished, or expiration off). */
  expiresAt?: Date;
  /**
   * Concatenation: `'partial'` for a part meant to be joined (its finish does
   * not run `onUploadFinish`), `'final'` for the joined upload; absent for a
   * plain upload.
   */
  concat?: 'partial' | 'final';
}

export interface TusServerOptions {
  /** Where data and state files live; created if missing. */
  directory: string;
  /** URL path of the upload collection; uploads are at `basePath + id`. Default `/files/`. */
  basePath?: string;
  /** Largest upload accepted (`Tus-Max-Size`); bigger ones get 413. Default: no limit. */
  maxSize?: number;
  /**
   * An unfinished upload expires this long after its creation or its last
   * PATCH (`Upload-Expires`): requests for it get 410 and the sweeper deletes
   * it. Finished uploads never expire. 0 turns the expiration extension off.
   * Default 86 400 000 (24 h).
   */
  expirationMs?: number;
  /** How often the sweeper looks for expired uploads. Default 60 000. */
  sweepIntervalMs?: number;
  /**
   * How long a PATCH or DELETE waits for another request on the same upload
   * to finish; after that it gets 423 Locked. Default 5 000.
   */
  lockTimeoutMs?: number;
  /**
   * Runs before an upload is created (nothing is on disk yet). Throw to
   * refuse it: an `MxError` with a 4xx `status` answers with that status and
   * its message, anything else with 500.
   */
  onUploadCreate?: (upload: UploadInfo) => void | Promise<void>;
  /** Runs once the last byte is on disk, before the final PATCH is answered. */
  onUploadFinish?: (upload: UploadInfo) => void | Promise<void>;
  /** Progress of a PATCH: at most every `progressIntervalMs`, and once when it ends. */
  onProgress?: (upload: UploadInfo) => void;
  /** Default 250. */
  progressIntervalMs?: number;
  /**
   * The per-upload lock. Default: `UploadLocks`, within this process; pass a
   * shared one when several processes serve the same directory.
   */
  locker?: UploadLocker;
}

/** The state file beside each data file; written to a temporary name, then renamed over. */
interface StoredState {
  version: 1;
  id: string;
  length: number | null;
  metadata: Record<string, string>;
  createdAt: string;
  expiresAt: string | null;
  /** Concatenation: a partial upload. */
  partial?: boolean;
  /** Concatenation: the ids of the partial uploads a final upload was made of, in order. */
  parts?: string[];
}

const idPattern = /^[0-9a-f]{32}$/;
const octetStream = 'application/offset+octet-stream';
const extensions = [
  'creation',
  'concatenation',
  'creation-with-upload',
  'creation-defer-length',
  'termination',
  'checksum',
  'expiration',
];
const textPlain = 'text/plain; charset=utf-8';

class TusReply extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * A tus 1.0.0 resumable-upload server (core protocol; creation,
 * creation-with-upload, creation-defer-length, termination, checksum with
 * sha1/sha256/md5, expiration, concatenation of finished parts) storing
 * uploads as files.
 *
 * Storage: `<directory>/<id>` holds the bytes, `<directory>/<id>.json` the
 * state (length, metadata, expiry), replaced by write-then-rename so a crash
 * never leaves it torn. The offset is the data file's size, so a client that
 * disconnects mid-PATCH keeps every byte that was written, and a restarted
 * server (or another process) sees the same uploads.
 *
 * Concurrency: one PATCH or DELETE per upload at a time (a per-upload lock in
 * this process by default). A second one waits up to `lockTimeoutMs` for the
 * first to finish — it then usually gets 409, as the offset moved — or gets
 * 423 Locked. Bytes of two PATCHes never interleave. Several processes serving
 * the same directory need a shared `locker`.
 *
 * Threading: `mount()` registers stream-bodied routes, which run on the IO
 * thread; `dataPath()` and `getUpload()` work from any thread or process.
 */
export class TusServer {
  readonly directory: string;
  readonly basePath: string;
  readonly #maxSize: number | undefined;
  readonly #expirationMs: number;
  readonly #sweepIntervalMs: number;
  readonly #lockTimeoutMs: number;
  readonly #progressIntervalMs: number;
  readonly #options: TusServerOptions;
  readonly #locks: UploadLocker;
  #ready: Promise<void> | undefined;
  #sweeper: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: TusServerOptions) {
    if (typeof options.directory !== 'string' || options.directory === '') {
      throw new MxError('MX_ERR_OPTION_INVALID', 'TusServer needs a directory');
    }
    this.directory = resolve(options.directory);
    let basePath = options.basePath ?? '/files/';
    if (!basePath.startsWith('/')) basePath = `/${basePath}`;
    if (!basePath.endsWith('/')) basePath += '/';
    this.basePath = basePath;
    this.#maxSize = optionalInteger('maxSize', options.maxSize);
    this.#expirationMs = optionalInteger('expirationMs', options.expirationMs) ?? 86_400_000;
    this.#sweepIntervalMs = optionalInteger('sweepIntervalMs', options.sweepIntervalMs) ?? 60_000;
    this.#lockTimeoutMs = optionalInteger('lockTimeoutMs', options.lockTimeoutMs) ?? 5_000;
    this.#progressIntervalMs = optionalInteger('progressIntervalMs', options.progressIntervalMs) ?? 250;
    this.#options = options;
    this.#locks = options.locker ?? new UploadLocks();
  }

  /**
   * Registers OPTIONS and POST on `basePath` (and without its trailing
   * slash), and OPTIONS, HEAD, PATCH, DELETE and POST (for
   * `X-HTTP-Method-Override`) on `basePath + ':id'`, all stream-bodied (they
   * run on the IO thread). On the main thread it also starts the sweeper.
   * The server finds stream-bodied routes through the router itself: pass this
   * router to `createServer`, or export it as `router` (or default) from the
   * app module — not wrapped in a handler function, or bodies are buffered and
   * capped by `maxBodyBytes`.
   */
  mount(router: Router): this {
    const options = { body: 'stream' } as const;
    const collection = (request: Request): Promise<void> => this.#serve(request, undefined);
    const upload = (request: Request): Promise<void> => this.#serve(request, request.pathParams['id']);
    const trimmed = this.basePath.slice(0, -1);
    for (const path of trimmed === '' ? [this.basePath] : [this.basePath, trimmed]) {
      router.options(path, collection, options);
      router.post(path, collection, options);
    }
    const item = `${this.basePath}:id`;
    for (const method of ['OPTIONS', 'HEAD', 'PATCH', 'DELETE', 'POST']) router.add(method, item, upload, options);
    if (isMainThread && this.#expirationMs > 0 && this.#sweeper === undefined && !this.#closed) {
      this.#sweeper = setInterval(() => {
        this.sweepExpired().catch(() => {});
      }, this.#sweepIntervalMs);
      this.#sweeper.unref();
    }
    return this;
  }

  /** Stops the sweeper. Requests still running finish. */
  close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    return Promise.resolve();
  }

  /**
   * Absolute path of an upload's data file. Pure (touches no file); throws
   * `MX_ERR_UPLOAD_ID_INVALID` (status 404) for anything that is not an id
   * this server could have made, so no input reaches outside `directory`.
   */
  dataPath(id: string): string {
    if (typeof id !== 'string' || !idPattern.test(id)) {
      throw new MxError('MX_ERR_UPLOAD_ID_INVALID', JSON.stringify(String(id).slice(0, 64)), { status: 404 });
    }
    return join(this.directory, id);
  }

  /**
   * Reads an upload's state from disk; undefined when there is none, including
   * for a string that is not a valid id (so request input can be passed as it
   * is). Works from any thread or process.
   */
  async getUpload(id: string): Promise<UploadInfo | undefined> {
    if (typeof id !== 'string' || !idPattern.test(id)) return undefined;
    const dataPath = this.dataPath(id);
    const state = await this.#readState(id);
    if (state === undefined) return undefined;
    let offset: number;
    try {
      offset = (await stat(dataPath)).size;
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return undefined;
      throw error;
    }
    return this.#info(state, offset);
  }

  /**
   * Deletes every unfinished upload whose expiry has passed (skipping any
   * with a request in progress). Returns how many were deleted. The sweeper
   * calls this every `sweepIntervalMs`.
   */
  async sweepExpired(now = Date.now()): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.directory);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return 0;
      throw error;
    }
    let deleted = 0;
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      const id = name.slice(0, -5);
      if (!idPattern.test(id) || (await this.#locks.isLocked(id))) continue;
      const upload = await this.getUpload(id).catch(() => undefined);
      if (upload === undefined || upload.complete || upload.expiresAt === undefined) continue;
      if (upload.expiresAt.getTime() > now) continue;
      await this.#remove(id);
      deleted++;
    }
    return deleted;
  }

  async #serve(request: Request, id: string | undefined): Promise<void> {
    try {
      await this.#route(request, id);
    } catch (error) {
      if (request.responded) return;
      if (error instanceof TusReply) {
        reply(request, error.status, error.headers, error.message);
        return;
      }
      const storage = storageProblem(error);
      if (storage !== undefined) {
        reply(request, storage.status, {}, storage.message);
        return;
      }
      throw error;
    }
  }

  async #route(request: Request, id: string | undefined): Promise<void> {
    const override = request.headers.get('x-http-method-override');
    const method = override === undefined ? request.method : override.trim().toUpperCase();
    if (method === 'OPTIONS') {
      this.#discover(request);
      return;
    }
    const version = request.headers.get('tus-resumable');
    if (version !== tusVersion) {
      throw new TusReply(
        412,
        version === undefined ? 'Tus-Resumable header is missing' : `tus version ${version} is not supported`,
        { 'Tus-Version': tusVersion },
      );
    }
    if (id === undefined) {
      if (method === 'POST') return this.#create(request);
      throw new TusReply(405, `${method} is not allowed on the upload collection`, { Allow: 'OPTIONS, POST' });
    }
    if (!idPattern.test(id)) throw new TusReply(404, 'no such upload');
    switch (method) {
      case 'HEAD':
        return this.#head(request, id);
      case 'PATCH':
        return this.#patch(request, id);
      case 'DELETE':
        return this.#terminate(request, id);
      default:
        throw new TusReply(405, `${method} is not allowed on an upload`, { Allow: 'OPTIONS, HEAD, PATCH, DELETE' });
    }
  }

  #discover(request: Request): void {
    const headers: Record<string, string> = {
      'Tus-Version': tusVersion,
      'Tus-Extension': (this.#expirationMs > 0 ? extensions : extensions.filter((e) => e !== 'expiration')).join(','),
      'Tus-Checksum-Algorithm': checksumAlgorithms.join(','),
    };
    if (this.#maxSize !== undefined) headers['Tus-Max-Size'] = String(this.#maxSize);
    reply(request, 204, headers);
  }

  async #create(request: Request): Promise<void> {
    const concat = request.headers.get('upload-concat')?.trim();
    if (concat !== undefined && concat.startsWith('final;')) return this.#createFinal(request, concat.slice(6));
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
    if (length !== undefined && this.#maxSize !== undefined && length > this.#maxSize) {
      throw new TusReply(413, `Upload-Length ${length} exceeds Tus-Max-Size ${this.#maxSize}`);
    }
    const metadata = parseUploadMetadata(request.headers.get('upload-metadata'));
    if (isHeaderProblem(metadata)) throw new TusReply(400, metadata.problem);
    const hasBody = isOctetStream(request) && contentLengthOf(request) !== 0;
    const checksum = hasBody ? readChecksum(request) : undefined;
    const id = randomBytes(16).toString('hex');
    const now = Date.now();
    const state: StoredState = {
      version: 1,
      id,
      length: length ?? null,
      metadata: { ...metadata },
      createdAt: new Date(now).toISOString(),
      expiresAt: this.#expirationMs > 0 && length !== 0 ? new Date(now + this.#expirationMs).toISOString() : null,
    };
    if (concat === 'partial') state.partial = true;
    await this.#created(state);
    await this.#prepareDirectory();
    const file = await open(this.dataPath(id), 'wx');
    await file.close();
    await this.#writeState(state);
    const headers: Record<string, string> = { Location: this.basePath + id };
    if (!hasBody) {
      if (state.expiresAt !== null) headers['Upload-Expires'] = new Date(state.expiresAt).toUTCString();
      if (length === 0) await this.#finish(this.#info(state, 0));
      reply(request, 201, headers);
      return;
    }
    // creation-with-upload: the body is the first chunk, at offset 0.
    const release = await this.#locks.acquire(id, this.#lockTimeoutMs);
    try {
      const result = await this.#append(request, state, 0, checksum);
      Object.assign(headers, result.headers);
      reply(request, 201, headers);
    } finally {
      release?.();
    }
  }

  async #created(state: StoredState): Promise<void> {
    const hook = this.#options.onUploadCreate;
    if (hook === undefined) return;
    try {
      await hook(this.#info(state, 0));
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
  async #createFinal(request: Request, list: string): Promise<void> {
    if (
      request.headers.get('upload-length') !== undefined ||
      request.headers.get('upload-defer-length') !== undefined
    ) {
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
        const partId = path.startsWith(this.basePath) ? path.slice(this.basePath.length) : '';
        if (!idPattern.test(partId))
          throw new TusReply(400, `Upload-Concat: ${JSON.stringify(item)} is not an upload here`);
        return partId;
      });
    if (parts.length === 0) throw new TusReply(400, 'Upload-Concat: final needs at least one partial upload');
    // Each distinct part locked once, in a fixed order, so two finals never wait on each other.
    const releases: Array<() => void> = [];
    try {
      for (const partId of [...new Set(parts)].sort()) {
        const release = await this.#locks.acquire(partId, this.#lockTimeoutMs);
        if (release === undefined) throw new TusReply(423, `partial upload ${partId} is busy; retry later`);
        releases.push(release);
      }
      let length = 0;
      for (const partId of parts) {
        const [state, offset] = [await this.#readState(partId), await this.#offsetOf(partId)];
        if (state === undefined || offset === undefined)
          throw new TusReply(400, `partial upload ${partId} does not exist`);
        if (state.partial !== true) throw new TusReply(400, `upload ${partId} was not created as partial`);
        if (state.length === null || offset < state.length) {
          throw new TusReply(400, `partial upload ${partId} is not finished`);
        }
        length += offset;
      }
      if (this.#maxSize !== undefined && length > this.#maxSize) {
        throw new TusReply(413, `the parts add up to ${length} bytes, over Tus-Max-Size ${this.#maxSize}`);
      }
      const id = randomBytes(16).toString('hex');
      const state: StoredState = {
        version: 1,
        id,
        length,
        metadata: { ...metadata },
        createdAt: new Date().toISOString(),
        expiresAt: null,
        parts,
      };
      await this.#created(state);
      await this.#prepareDirectory();
      // The data first, the state last: until the state exists the final upload does not.
      const target = await open(this.dataPath(id), 'wx');
      try {
        let position = 0;
        for (const partId of parts) {
          const source = await open(this.dataPath(partId), 'r');
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
        await rm(this.dataPath(id), { force: true });
        throw error;
      }
      await target.close();
      await this.#writeState(state);
      await this.#finish(this.#info(state, length));
      reply(request, 201, { Location: this.basePath + id });
    } finally {
      for (const release of releases) release();
    }
  }

  async #head(request: Request, id: string): Promise<void> {
    const upload = await this.getUpload(id);
    if (upload === undefined) throw new TusReply(404, 'no such upload');
    checkNotExpired(upload);
    const headers: Record<string, string> = {
      'Upload-Offset': String(upload.offset),
      'Cache-Control': 'no-store',
    };
    if (upload.length === undefined) headers['Upload-Defer-Length'] = '1';
    else headers['Upload-Length'] = String(upload.length);
    if (Object.keys(upload.metadata).length > 0) headers['Upload-Metadata'] = formatUploadMetadata(upload.metadata);
    if (upload.expiresAt !== undefined) headers['Upload-Expires'] = upload.expiresAt.toUTCString();
    const concat = await this.#concatHeader(id);
    if (concat !== undefined) headers['Upload-Concat'] = concat;
    reply(request, 200, headers);
  }

  async #patch(request: Request, id: string): Promise<void> {
    if (!isOctetStream(request)) throw new TusReply(415, `PATCH needs Content-Type: ${octetStream}`);
    const offset = headerNumber(request, 'Upload-Offset');
    if (offset === undefined) throw new TusReply(400, 'Upload-Offset is required');
    const declaredLength = headerNumber(request, 'Upload-Length');
    const checksum = readChecksum(request);
    const release = await this.#locks.acquire(id, this.#lockTimeoutMs);
    if (release === undefined) throw new TusReply(423, 'another request is writing to this upload; retry later');
    try {
      const state = await this.#readState(id);
      if (state === undefined) throw new TusReply(404, 'no such upload');
      const current = await this.#offsetOf(id);
      if (current === undefined) throw new TusReply(404, 'no such upload');
      if (state.parts !== undefined) throw new TusReply(403, 'a final upload cannot be patched');
      checkNotExpired(this.#info(state, current));
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
        if (this.#maxSize !== undefined && declaredLength > this.#maxSize) {
          throw new TusReply(413, `Upload-Length ${declaredLength} exceeds Tus-Max-Size ${this.#maxSize}`);
        }
        if (state.length === null) {
          state.length = declaredLength;
          await this.#writeState(state);
        }
      }
      const result = await this.#append(request, state, current, checksum);
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
  async #append(
    request: Request,
    state: StoredState,
    offset: number,
    checksum: UploadChecksum | undefined,
  ): Promise<{ headers: Record<string, string> }> {
    const room = state.length === null ? (this.#maxSize ?? Number.MAX_SAFE_INTEGER) - offset : state.length - offset;
    const declared = contentLengthOf(request);
    if (declared !== undefined && declared > room) {
      throw new TusReply(413, `${declared} bytes at offset ${offset} would exceed the upload's length`);
    }
    const dataPath = this.dataPath(state.id);
    let lastProgress = 0;
    const progress = (written: number, force: boolean): void => {
      const hook = this.#options.onProgress;
      if (hook === undefined) return;
      const now = Date.now();
      if (!force && now - lastProgress < this.#progressIntervalMs) return;
      lastProgress = now;
      try {
        hook(this.#info(state, offset + written));
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
      ({ written, overflow, error: failure } = await this.#appendVerified(request, dataPath, offset, room, checksum));
    }
    const newOffset = offset + written;
    if (this.#expirationMs > 0 && written > 0) {
      state.expiresAt = new Date(Date.now() + this.#expirationMs).toISOString();
      await this.#writeState(state);
    }
    progress(written, true);
    if (overflow) throw new TusReply(413, `the body runs past the upload's length; kept ${written} bytes`);
    if (failure !== undefined) {
      if (failure instanceof TusReply) throw failure;
      throw new TusReply(400, `the request body ended early; kept ${written} bytes`);
    }
    const info = this.#info(state, newOffset);
    const headers: Record<string, string> = { 'Upload-Offset': String(newOffset) };
    if (info.expiresAt !== undefined) headers['Upload-Expires'] = info.expiresAt.toUTCString();
    if (info.complete && written > 0 && state.partial !== true) await this.#finish(info);
    return { headers };
  }

  async #appendVerified(
    request: Request,
    dataPath: string,
    offset: number,
    room: number,
    checksum: UploadChecksum,
  ): Promise<{ written: number; overflow: boolean; error: unknown }> {
    const sidePath = `${dataPath}.chunk-${randomBytes(4).toString('hex')}`;
    const hash = createHash(checksum.algorithm);
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

  async #finish(upload: UploadInfo): Promise<void> {
    const hook = this.#options.onUploadFinish;
    if (hook === undefined) return;
    try {
      await hook(upload);
    } catch (error) {
      throw new TusReply(500, `the upload is complete but onUploadFinish failed: ${describe(error)}`);
    }
  }

  async #terminate(request: Request, id: string): Promise<void> {
    const release = await this.#locks.acquire(id, this.#lockTimeoutMs);
    if (release === undefined) throw new TusReply(423, 'another request is writing to this upload; retry later');
    try {
      if ((await this.#readState(id)) === undefined) throw new TusReply(404, 'no such upload');
      await this.#remove(id);
      reply(request, 204, {});
    } finally {
      release();
    }
  }

  async #remove(id: string): Promise<void> {
    // State first: an upload without state is gone, whatever happens to the data file.
    await rm(this.#statePath(id), { force: true });
    await rm(this.dataPath(id), { force: true });
  }

  #statePath(id: string): string {
    return `${this.dataPath(id)}.json`;
  }

  async #concatHeader(id: string): Promise<string | undefined> {
    const state = await this.#readState(id);
    if (state?.partial === true) return 'partial';
    if (state?.parts !== undefined) return `final;${state.parts.map((part) => this.basePath + part).join(' ')}`;
    return undefined;
  }

  async #offsetOf(id: string): Promise<number | undefined> {
    try {
      return (await stat(this.dataPath(id))).size;
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return undefined;
      throw error;
    }
  }

  async #readState(id: string): Promise<StoredState | undefined> {
    let text: string;
    try {
      text = await readFile(this.#statePath(id), 'utf8');
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return undefined;
      throw error;
    }
    const state = JSON.parse(text) as StoredState;
    if (state.version !== 1 || state.id !== id) {
      throw new MxError('MX_ERR_UPLOAD_STORAGE', `state file of ${id} is not one this server wrote`, { status: 500 });
    }
    return state;
  }

  async #writeState(state: StoredState): Promise<void> {
    const path = this.#statePath(state.id);
    const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(temporary, JSON.stringify(state), { flush: true });
      await rename(temporary, path);
    } catch (error) {
      await rm(temporary, { force: true }).catch(() => {});
      throw error;
    }
  }

  #prepareDirectory(): Promise<void> {
    this.#ready ??= mkdir(this.directory, { recursive: true }).then(
      () => {},
      (error: unknown) => {
        this.#ready = undefined;
        throw error;
      },
    );
    return this.#ready;
  }

  #info(state: StoredState, offset: number): UploadInfo {
    const length = state.length ?? undefined;
    const complete = length !== undefined && offset >= length;
    const info: UploadInfo = {
      id: state.id,
      offset,
      length,
      metadata: { ...state.metadata },
      complete,
      dataPath: this.dataPath(state.id),
    };
    if (!complete && state.expiresAt !== null) info.expiresAt = new Date(state.expiresAt);
    if (state.partial === true) info.concat = 'partial';
    else if (state.parts !== undefined) info.concat = 'final';
    return info;
  }
}

function reply(request: Request, status: number, headers: Record<string, string>, message?: string): void {
  const all: HeadersInit = { 'Tus-Resumable': tusVersion, ...headers };
  if (message === undefined || request.method === 'HEAD') request.respond(status, all);
  else request.respond(status, { ...all, 'Content-Type': textPlain }, `${message}\n`);
}

function checkNotExpired(upload: UploadInfo): void {
  if (upload.expiresAt !== undefined && upload.expiresAt.getTime() <= Date.now()) {
    throw new TusReply(410, 'the upload expired');
  }
}

function headerNumber(request: Request, name: string): number | undefined {
  const value = parseNonNegativeInteger(name, request.headers.get(name));
  if (isHeaderProblem(value)) throw new TusReply(400, value.problem);
  return value;
}

function readChecksum(request: Request): UploadChecksum | undefined {
  const checksum = parseUploadChecksum(request.headers.get('upload-checksum'));
  if (isHeaderProblem(checksum)) throw new TusReply(400, checksum.problem);
  return checksum;
}

function isOctetStream(request: Request): boolean {
  const type = request.headers.get('content-type');
  return type !== undefined && type.split(';')[0]!.trim().toLowerCase() === octetStream;
}

function contentLengthOf(request: Request): number | undefined {
  const value = request.headers.get('content-length');
  return value === undefined ? undefined : Number(value);
}

/** Appends `length` bytes of `from` (from its start) to `to` at `position`, 1 MiB at a time. */
async function copyFileRange(from: FileHandle, to: FileHandle, length: number, position: number): Promise<void> {
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

/** A full disk or a permission problem, as the client should hear it (5xx). */
function storageProblem(error: unknown): { status: number; message: string } | undefined {
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

function isErrno(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === code;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function optionalInteger(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new MxError('MX_ERR_OPTION_INVALID', `${name} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}
