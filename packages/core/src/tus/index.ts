// @mummyx/core/tus — the tus 1.0.0 resumable-upload server.
export { TusServer, type TusServerOptions, type UploadInfo } from './tus-server.js';
export { UploadLocks, type UploadLocker } from './upload-locks.js';
export {
  parseUploadMetadata,
  formatUploadMetadata,
  parseUploadChecksum,
  checksumAlgorithms,
  tusVersion,
  type ChecksumAlgorithm,
  type UploadChecksum,
} from './tus-headers.js';
