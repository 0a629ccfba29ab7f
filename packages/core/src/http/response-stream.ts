import { Readable, type Writable } from 'node:stream';
import { MxError } from '../errors.js';

/**
 * What `respondStream()` takes as a body: a Node `Readable`, a web `ReadableStream` or an async
 * iterable (an async generator, for one) of bytes or strings. Strings are sent as UTF-8.
 */
export type ResponseStreamBody = Readable | ReadableStream<Uint8Array | string> | AsyncIterable<Uint8Array | string>;

type BodyReader = ReadableStreamDefaultReader<unknown>;
type ReadResult = Awaited<ReturnType<BodyReader['read']>>;

/**
 * A body as a Node Readable, the one shape the server pipes to a socket and a worker relays:
 * a Readable as it is, a web stream read chunk by chunk (`WebBodyReadable`), an async iterable
 * through `Readable.from` (whose destruction ends the iteration: `return()` is called, so a
 * generator's `finally` runs at its next `yield`). Throws `MX_ERR_BODY_INVALID` for anything else.
 */
export function readableOf(body: ResponseStreamBody): Readable {
  if (body instanceof Readable) return body;
  if (typeof (body as ReadableStream).getReader === 'function') {
    return new WebBodyReadable((body as ReadableStream<unknown>).getReader());
  }
  if (typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
    // Not object mode: strings become UTF-8 bytes, and anything but bytes or strings fails the stream.
    return Readable.from(body as AsyncIterable<Uint8Array | string>, { objectMode: false });
  }
  throw new MxError(
    'MX_ERR_BODY_INVALID',
    'respondStream() takes a Readable, a ReadableStream or an async iterable of Uint8Array or string',
  );
}

/** What a body that writes itself reports when it is done. */
export interface BodyOutcome {
  /** True when the whole body was written. */
  isComplete: boolean;
  /** Why the body failed midway, when it did (not set when the destination went away first). */
  failure?: Error;
}

/**
 * A streamed body that writes itself to the socket rather than being piped there: the IO
 * thread's end of a body a worker streams (RelayedBody), which writes views of the memory the
 * worker fills and reuses it once each write is done.
 */
export interface BodyWriter {
  /** Writes the body to `destination`, ending it at the body's end; `done` runs once, at the end. */
  writeTo(destination: Writable, done: (outcome: BodyOutcome) => void): void;
  /**
   * Stops the body: the response carries none after all (HEAD, 204, 304, answered already),
   * or its connection is gone. `done`, if writing had begun, reports it incomplete.
   */
  destroy(): void;
}

/** A body as the server writes it: a Readable it pipes, or a body that writes itself. */
export type StreamedBody = Readable | BodyWriter;

/** True for a `text/event-stream` media type, whatever its case and parameters. */
export function isEventStream(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const semicolon = contentType.indexOf(';');
  const type = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim();
  return type.length === 17 && type.toLowerCase() === 'text/event-stream';
}

/**
 * One chunk of a body as bytes. The Fetch standard allows only `Uint8Array` chunks; strings
 * are taken too (as UTF-8), since streams built by hand often carry them. Anything else throws
 * a TypeError, which ends the response.
 */
export function chunkBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') return Buffer.from(value);
  throw new TypeError(`a response body chunk must be a Uint8Array, got ${describeValue(value)}`);
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value.constructor as { name?: string } | undefined)?.name ?? 'an object';
  return typeof value;
}

/**
 * A Node Readable over a web body reader. It reads one chunk each time Node asks for more
 * (`_read`), so a web stream is read only as fast as the socket takes it: while the client
 * does not read, the writes back up, Node stops asking and the producer's `desiredSize` falls.
 * Chunks are pushed as they come, never gathered, so each server-sent event is written when it
 * is produced. Destroying it (the client left, the response was cut) cancels the web stream,
 * which tells its producer to stop.
 */
export class WebBodyReadable extends Readable {
  readonly #reader: BodyReader;
  #pending: Promise<ReadResult> | undefined;

  /** `first` are chunks already read; `pending` a read already in flight. */
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
