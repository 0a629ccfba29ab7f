import { readdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { MxError } from '../errors.js';
import type { Request } from '../http/request.js';
import type { Router } from '../router/router.js';
import type { TusContext } from './tus-context.js';
import { checksumAlgorithms, formatUploadMetadata, tusVersion } from './tus-headers.js';
import { TusReply, checkNotExpired, reply, storageProblem } from './tus-reply.js';
import { patchUpload } from './upload-append.js';
import { createUpload } from './upload-creation.js';
import { UploadLocks, type UploadLocker } from './upload-locks.js';
import { UploadStore, idPattern, isErrno, type UploadInfo } from './upload-store.js';

export type { UploadInfo } from './upload-store.js';

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

const extensions = [
  'creation',
  'concatenation',
  'creation-with-upload',
  'creation-defer-length',
  'termination',
  'checksum',
  'expiration',
];

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
  readonly #locks: UploadLocker;
  readonly #store: UploadStore;
  /** What the request handlers (creation, PATCH) share. */
  readonly #context: TusContext;
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
    this.#locks = options.locker ?? new UploadLocks();
    this.#store = new UploadStore(this.directory);
    this.#context = {
      store: this.#store,
      locks: this.#locks,
      basePath,
      maxSize: this.#maxSize,
      expirationMs: this.#expirationMs,
      lockTimeoutMs: optionalInteger('lockTimeoutMs', options.lockTimeoutMs) ?? 5_000,
      progressIntervalMs: optionalInteger('progressIntervalMs', options.progressIntervalMs) ?? 250,
      onUploadCreate: options.onUploadCreate,
      onUploadFinish: options.onUploadFinish,
      onProgress: options.onProgress,
    };
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
    return this.#store.dataPath(id);
  }

  /**
   * Reads an upload's state from disk; undefined when there is none, including
   * for a string that is not a valid id (so request input can be passed as it
   * is). Works from any thread or process.
   */
  getUpload(id: string): Promise<UploadInfo | undefined> {
    return this.#store.getUpload(id);
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
      await this.#store.remove(id);
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
      if (method === 'POST') return createUpload(this.#context, request);
      throw new TusReply(405, `${method} is not allowed on the upload collection`, { Allow: 'OPTIONS, POST' });
    }
    if (!idPattern.test(id)) throw new TusReply(404, 'no such upload');
    switch (method) {
      case 'HEAD':
        return this.#head(request, id);
      case 'PATCH':
        return patchUpload(this.#context, request, id);
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

  async #terminate(request: Request, id: string): Promise<void> {
    const release = await this.#locks.acquire(id, this.#context.lockTimeoutMs);
    if (release === undefined) throw new TusReply(423, 'another request is writing to this upload; retry later');
    try {
      if ((await this.#store.readState(id)) === undefined) throw new TusReply(404, 'no such upload');
      await this.#store.remove(id);
      reply(request, 204, {});
    } finally {
      release();
    }
  }

  async #concatHeader(id: string): Promise<string | undefined> {
    const state = await this.#store.readState(id);
    if (state?.partial === true) return 'partial';
    if (state?.parts !== undefined) return `final;${state.parts.map((part) => this.basePath + part).join(' ')}`;
    return undefined;
  }
}

function optionalInteger(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new MxError('MX_ERR_OPTION_INVALID', `${name} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}
