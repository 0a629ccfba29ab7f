/**
 * The ArrayBuffer under `bytes` when the bytes are all of it, so nothing else
 * can be looking at it: such a buffer may be transferred to another thread
 * (the dispatch protocol's bodies) or detached to free it at once (tus, once
 * a chunk is on disk).
 */
export function transferableOf(bytes: Uint8Array | string | undefined): ArrayBuffer | undefined {
  if (bytes === undefined || typeof bytes === 'string') return undefined;
  const buffer = bytes.buffer;
  if (!(buffer instanceof ArrayBuffer)) return undefined;
  // Small Buffers share Node's 8 KiB pool; transferring it would detach unrelated Buffers.
  return bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength ? buffer : undefined;
}
