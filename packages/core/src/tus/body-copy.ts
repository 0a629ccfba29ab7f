import type { Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { transferableOf } from '../http/transferable.js';

export interface CopyResult {
  /** Bytes written to the file. */
  written: number;
  /** The body had more than `maxBytes`; the extra bytes were not written. */
  overflow: boolean;
  /** Why the body ended early (client gone, stream error); bytes read before it are written. */
  error: unknown;
}

/** Largest batch handed to one `writev`: bounds memory while keeping syscalls few. */
const maxBatchBytes = 4 * 1024 * 1024;

/**
 * Copies a request body into `file` at `position`, as it arrives. Each batch
 * of chunks already received is written before more is read, so the socket is
 * held back while the disk is busy (back-pressure) and at most one batch is
 * in memory. Every byte read is written before this returns, also when the
 * body fails midway (`error`), so a client that disconnects keeps what it
 * sent. Rejects only when the file cannot be written.
 */
export async function copyBody(
  source: Readable,
  file: FileHandle,
  position: number,
  maxBytes: number,
  hash: Hash | undefined,
  onWritten: (written: number) => void,
): Promise<CopyResult> {
  let ended = false;
  let failure: unknown;
  let closed = false;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const callback = wake;
    wake = undefined;
    callback?.();
  };
  const onEnd = (): void => {
    ended = true;
    notify();
  };
  const onError = (error: unknown): void => {
    failure ??= error;
    notify();
  };
  const onClose = (): void => {
    closed = true;
    notify();
  };
  source.on('readable', notify);
  source.on('end', onEnd);
  source.on('error', onError);
  source.on('close', onClose);
  let written = 0;
  try {
    for (;;) {
      const chunks: Buffer[] = [];
      let size = 0;
      let chunk: Buffer | null;
      while (size < maxBatchBytes && (chunk = source.read() as Buffer | null) !== null) {
        chunks.push(chunk);
        size += chunk.length;
      }
      if (chunks.length > 0) {
        let overflow = false;
        if (written + size > maxBytes) {
          overflow = true;
          trim(chunks, maxBytes - written);
          size = maxBytes - written;
        }
        if (hash !== undefined) for (const piece of chunks) hash.update(piece);
        await writeAll(file, chunks, position + written, size);
        for (const piece of chunks) release(piece);
        written += size;
        onWritten(written);
        if (overflow) return { written, overflow: true, error: undefined };
        continue;
      }
      if (ended) return { written, overflow: false, error: undefined };
      if (failure !== undefined) return { written, overflow: false, error: failure };
      if (closed || source.destroyed) {
        return { written, overflow: false, error: new Error('the request body closed before it ended') };
      }
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    source.off('readable', notify);
    source.off('end', onEnd);
    source.off('error', onError);
    source.off('close', onClose);
  }
}

const transfer = (ArrayBuffer.prototype as { transfer?: (length?: number) => ArrayBuffer }).transfer;

/**
 * Frees a chunk that is on disk now, where the runtime can (Node 22+:
 * `ArrayBuffer.prototype.transfer` detaches it and drops its memory at once).
 * Otherwise each body chunk stays allocated until a garbage collection, which
 * V8 starts only after tens of megabytes of them. Only a chunk that owns all
 * of its ArrayBuffer is freed: nothing else can be looking at its bytes.
 */
function release(chunk: Buffer): void {
  const buffer = transferableOf(chunk);
  if (transfer !== undefined && buffer !== undefined) transfer.call(buffer, 0);
}

function trim(chunks: Buffer[], keep: number): void {
  let total = 0;
  for (let i = 0; i < chunks.length; i++) {
    const piece = chunks[i]!;
    if (total + piece.length > keep) {
      chunks[i] = piece.subarray(0, keep - total);
      chunks.length = i + 1;
      return;
    }
    total += piece.length;
  }
}

/** `writev` may write less than asked (a signal, a full pipe); finish the rest. */
async function writeAll(file: FileHandle, chunks: Buffer[], position: number, size: number): Promise<void> {
  const { bytesWritten } = await file.writev(chunks, position);
  if (bytesWritten === size) return;
  let buffer = Buffer.concat(chunks, size).subarray(bytesWritten);
  let at = position + bytesWritten;
  while (buffer.length > 0) {
    const result = await file.write(buffer, 0, buffer.length, at);
    buffer = buffer.subarray(result.bytesWritten);
    at += result.bytesWritten;
  }
}
