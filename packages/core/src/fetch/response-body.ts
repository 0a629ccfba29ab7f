import { Readable } from 'node:stream';
import { chunkBytes } from './web-response.js';

type BodyReader = ReadableStreamDefaultReader<unknown>;
type ReadResult = Awaited<ReturnType<BodyReader['read']>>;

const turned = Symbol('turned');

/** What `readQuickly` found. */
export interface QuickRead {
  /** The chunks read, in order (empty chunks left out). */
  chunks: Uint8Array[];
  /** Their total size. */
  bytes: number;
  /** True when the body ended: `chunks` is all of it. */
  isComplete: boolean;
  /** The read still in flight when the event loop turned; the next chunk comes from it. */
  pending: Promise<ReadResult> | undefined;
}

/**
 * Reads a response body for as long as its chunks arrive before the event loop turns and
 * `maxBytes` is not passed. A body made from a string or bytes, or written whole before the
 * handler returned, is read whole in these few microtasks, so it can go out as one
 * `respond()` (one write, Content-Length, compression). A body still being produced — timed
 * chunks, an event stream — stops the reading at the first turn, with its next read in
 * flight, and is streamed from there.
 */
export async function readQuickly(reader: BodyReader, maxBytes: number): Promise<QuickRead> {
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  const turn = nextTurn();
  for (;;) {
    const read = reader.read();
    const result = await Promise.race([read, turn]);
    if (result === turned) return { chunks, bytes, isComplete: false, pending: read };
    if (result.done) return { chunks, bytes, isComplete: true, pending: undefined };
    const chunk = chunkBytes(result.value);
    if (chunk.byteLength === 0) continue;
    chunks.push(chunk);
    bytes += chunk.byteLength;
    if (bytes > maxBytes) return { chunks, bytes, isComplete: false, pending: undefined };
  }
}

/**
 * Settles when the event loop next turns (its check phase). One promise serves every request
 * read within the same turn: under load many arrive in one batch of socket reads.
 */
let turnPromise: Promise<typeof turned> | undefined;
function nextTurn(): Promise<typeof turned> {
  return (turnPromise ??= new Promise((resolve) => {
    setImmediate(() => {
      turnPromise = undefined;
      resolve(turned);
    });
  }));
}

/**
 * Reads a whole response body, or cancels it and returns `undefined` once it passes
 * `maxBytes`.
 */
export async function readWhole(
  reader: BodyReader,
  maxBytes: number,
): Promise<{ chunks: Uint8Array[]; bytes: number } | undefined> {
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for (;;) {
    const result = await reader.read();
    if (result.done) return { chunks, bytes };
    const chunk = chunkBytes(result.value);
    bytes += chunk.byteLength;
    if (bytes > maxBytes) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    if (chunk.byteLength > 0) chunks.push(chunk);
  }
}

/** The chunks as one body: the chunk itself when there is one, undefined when there is none. */
export function joinChunks(chunks: readonly Uint8Array[], bytes: number): Uint8Array | undefined {
  if (chunks.length === 0) return undefined;
  if (chunks.length === 1) return chunks[0];
  return Buffer.concat(chunks, bytes);
}

/**
 * A Node Readable over a web body reader, for `respondStream()`. It reads one chunk each
 * time Node asks for more (`_read`), so a web stream is read only as fast as the socket
 * takes it: while the client does not read, the writes back up, Node stops asking and the
 * producer's `desiredSize` falls. Chunks are pushed as they come, never gathered, so each
 * server-sent event is written when it is produced. Destroying it (the client left, the
 * response was cut) cancels the web stream, which tells its producer to stop.
 */
export class WebBodyReadable extends Readable {
  readonly #reader: BodyReader;
  #pending: Promise<ReadResult> | undefined;

  /** `first` are chunks already read; `pending` a read already in flight (see `readQuickly`). */
  constructor(reader: BodyReader, first: readonly Uint8Array[] = [], pending?: Promise<ReadResult>) {
    super();
    this.#reader = reader;
    this.#pending = pending;
    for (const chunk of first) this.push(chunk);
  }

  override _read(): void {
    const read = this.#pending ?? this.#reader.read();
    this.#pending = undefined;
    read.then(
      (result) => this.#take(result),
      (error: unknown) => this.destroy(error instanceof Error ? error : new Error(String(error))),
    );
  }

  #take(result: ReadResult): void {
    if (this.destroyed) return;
    if (result.done) {
      this.push(null);
      return;
    }
    let chunk: Uint8Array;
    try {
      chunk = chunkBytes(result.value);
    } catch (error) {
      this.destroy(error as Error);
      return;
    }
    // Node reads an empty chunk as "nothing yet" and would not ask again.
    if (chunk.byteLength === 0) this._read();
    else this.push(chunk);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Ends the producer too; after a normal end the stream is closed and this does nothing.
    this.#reader.cancel(error ?? undefined).catch(() => {});
    callback(error);
  }
}
