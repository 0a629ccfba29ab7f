import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';

/** Bytes read from the file at a time. */
const readBytes = 64 * 1024;

/**
 * The bytes `start` to `end` (inclusive) of a file, as a Readable: what `serveFile` streams.
 * Besides the usual reading, `readInto` reads the next bytes straight into a caller's memory —
 * on a worker, the shared memory the IO thread writes to the socket from — so a file crosses
 * threads without a copy and without leaving garbage behind. Use one way or the other.
 */
export class FileRangeReadable extends Readable {
  readonly #path: string;
  #position: number;
  readonly #end: number;
  /** The file, opened at once: whichever way it is read, it is. */
  readonly #file: Promise<FileHandle>;
  #isClosed = false;

  constructor(path: string, start: number, end: number) {
    super({ highWaterMark: readBytes });
    this.#path = path;
    this.#position = start;
    this.#end = end;
    this.#file = open(path, 'r');
    // A failure reaches whoever reads; this keeps it from being unhandled meanwhile.
    this.#file.catch(() => {});
  }

  override _construct(callback: (error?: Error | null) => void): void {
    this.#file.then(
      () => callback(),
      (error: Error) => callback(error),
    );
  }

  override _read(): void {
    const length = Math.min(readBytes, this.#end - this.#position + 1);
    if (length <= 0) {
      this.push(null);
      return;
    }
    const buffer = Buffer.allocUnsafeSlow(length);
    this.readInto(buffer, 0, length).then(
      (read) => this.push(read === length ? buffer : buffer.subarray(0, read)),
      (error: Error) => this.destroy(error),
    );
  }

  /** Bytes not read yet. */
  get remainingBytes(): number {
    return this.#end - this.#position + 1;
  }

  /**
   * Reads up to `length` of the next bytes into `target` at `offset`; resolves to how many
   * (0 at the end). Waits for the file to be open. A file that shrank under it fails.
   */
  async readInto(target: Uint8Array, offset: number, length: number): Promise<number> {
    const wanted = Math.min(length, this.remainingBytes);
    if (wanted <= 0) return 0;
    const file = await this.#file;
    if (this.#isClosed) throw new Error(`${this.#path} was closed before it was read`);
    const { bytesRead } = await file.read(target, offset, wanted, this.#position);
    if (bytesRead === 0) throw new Error(`${this.#path} shrank while it was being sent`);
    this.#position += bytesRead;
    return bytesRead;
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#isClosed = true;
    this.#file
      .then(
        (file) => file.close(),
        () => {},
      )
      .then(
        () => callback(error),
        () => callback(error),
      );
  }
}
