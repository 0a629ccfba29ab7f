import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MxError } from '../errors.js';
import { nodeCrypto } from '../node-modules.js';

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

/** The state file beside each data file; written to a temporary name, then renamed over. */
export interface StoredState {
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

/** What an upload id looks like: 32 lower-case hex characters. */
export const idPattern = /^[0-9a-f]{32}$/;

/**
 * Uploads as files: `<directory>/<id>` holds the bytes, `<directory>/<id>.json`
 * the state (length, metadata, expiry), replaced by write-then-rename so a
 * crash never leaves it torn. The offset is the data file's size.
 */
export class UploadStore {
  readonly directory: string;
  #ready: Promise<void> | undefined;

  constructor(directory: string) {
    this.directory = directory;
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
    const state = await this.readState(id);
    if (state === undefined) return undefined;
    let offset: number;
    try {
      offset = (await stat(dataPath)).size;
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return undefined;
      throw error;
    }
    return this.info(state, offset);
  }

  async readState(id: string): Promise<StoredState | undefined> {
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

  async writeState(state: StoredState): Promise<void> {
    const path = this.#statePath(state.id);
    const temporary = `${path}.${nodeCrypto().randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(temporary, JSON.stringify(state), { flush: true });
      await rename(temporary, path);
    } catch (error) {
      await rm(temporary, { force: true }).catch(() => {});
      throw error;
    }
  }

  async offsetOf(id: string): Promise<number | undefined> {
    try {
      return (await stat(this.dataPath(id))).size;
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return undefined;
      throw error;
    }
  }

  async remove(id: string): Promise<void> {
    // State first: an upload without state is gone, whatever happens to the data file.
    await rm(this.#statePath(id), { force: true });
    await rm(this.dataPath(id), { force: true });
  }

  prepareDirectory(): Promise<void> {
    this.#ready ??= mkdir(this.directory, { recursive: true }).then(
      () => {},
      (error: unknown) => {
        this.#ready = undefined;
        throw error;
      },
    );
    return this.#ready;
  }

  info(state: StoredState, offset: number): UploadInfo {
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

  #statePath(id: string): string {
    return `${this.dataPath(id)}.json`;
  }
}

export function isErrno(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === code;
}
