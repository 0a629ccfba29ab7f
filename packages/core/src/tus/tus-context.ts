import type { UploadLocker } from './upload-locks.js';
import type { UploadInfo, UploadStore } from './upload-store.js';

/** What the handlers of one TusServer share: its storage, its locks, its resolved options and hooks. */
export interface TusContext {
  readonly store: UploadStore;
  readonly locks: UploadLocker;
  /** URL path of the upload collection, with its trailing slash. */
  readonly basePath: string;
  readonly maxSize: number | undefined;
  /** 0: the expiration extension is off. */
  readonly expirationMs: number;
  readonly lockTimeoutMs: number;
  readonly progressIntervalMs: number;
  readonly onUploadCreate: ((upload: UploadInfo) => void | Promise<void>) | undefined;
  readonly onUploadFinish: ((upload: UploadInfo) => void | Promise<void>) | undefined;
  readonly onProgress: ((upload: UploadInfo) => void) | undefined;
}
