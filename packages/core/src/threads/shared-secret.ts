import { isMainThread, workerData } from 'node:worker_threads';
import { nodeCrypto } from '../node-modules.js';

/** The secret of this thread: drawn on the main thread, or handed to a MummyX worker in its `workerData`. */
let secret: Uint8Array | undefined;

/** How many bytes `sharedSecret()` holds: 256 bits, enough for any HMAC key. */
const secretBytes = 32;

/**
 * 32 random bytes, the same on every thread of the process: drawn once on
 * the main thread, and handed to every worker thread a MummyX server starts.
 * For keys that any worker must share and that need not outlive the process
 * — the default HMAC key of state a client echoes to whichever worker serves
 * its next request. A restart draws a new one; several processes or machines
 * each have their own (give them one key of yours instead). A thread that a
 * MummyX server did not start gets a secret of its own.
 */
export function sharedSecret(): Uint8Array {
  if (secret !== undefined) return new Uint8Array(secret);
  const handed = isMainThread ? undefined : (workerData as { sharedSecret?: unknown } | null)?.sharedSecret;
  secret =
    handed instanceof Uint8Array && handed.byteLength === secretBytes
      ? handed
      : new Uint8Array(nodeCrypto().randomBytes(secretBytes));
  return new Uint8Array(secret);
}
