import type { Readable } from 'node:stream';
import { FileRangeReadable } from '../http/file-range-readable.js';
import { describeError } from '../log/log-handler.js';

/**
 * The size of the ring of shared memory each streamed body crosses threads in: the most bytes
 * of it that can be in flight between a worker and the socket — written by the worker and not
 * yet handed to the kernel by the IO thread's writes. A client that reads slowly, or not at
 * all, stops the worker's reading once the ring is full, so a stream costs the IO thread this
 * much memory and no more (its writes are views of the ring, never copies).
 */
export const streamWindowBytes = 256 * 1024;

/** The IO thread gives credit back in steps of at least this many bytes (one message each). */
export const creditStepBytes = 64 * 1024;

/** Bytes of a file read into the ring at a time. */
const fileReadBytes = 64 * 1024;

/** How a worker's streamed bodies reach the IO thread: each call is one message there. */
export interface ResponsePort {
  /** `length` bytes at `offset` of the ring are the body's next bytes. */
  chunk(id: number, offset: number, length: number): void;
  /** The body ended; `failure` describes the error when it failed. */
  end(id: number, failure: string | undefined): void;
}

/**
 * The worker's end of a streamed response: reads the body and copies its bytes into a ring of
 * shared memory (`streamWindowBytes`), telling the IO thread where each piece is; the IO
 * thread writes the pieces to the socket straight from the ring and gives the room back
 * (credit) once each write is done. With the ring full the body is paused, so it produces no
 * more than its own buffer (its highWaterMark) ahead. A file from `serveFile` is read straight
 * into the ring: no copy, and no garbage left for either thread's collector.
 *
 * The pump ends when the body does (or fails, or is cancelled because the client left); its
 * ring is reused only once the IO thread says it is done with it (`release`).
 */
export class ResponsePump {
  readonly id: number;
  readonly ring: SharedArrayBuffer;
  readonly #view: Buffer;
  readonly #source: Readable;
  readonly #file: FileRangeReadable | undefined;
  readonly #port: ResponsePort;
  /** Bytes written into the ring so far, and given back by the IO thread. */
  #written = 0;
  #credited = 0;
  /** The part of a chunk that did not fit yet. */
  #rest: Uint8Array | undefined;
  #sourceEnded = false;
  #state: 'running' | 'ended' | 'cancelled' = 'running';
  /** A file read into the ring is in flight: the ring may not be reused before it lands. */
  #isReading = false;
  #onIdle: (() => void) | undefined;

  constructor(id: number, source: Readable, ring: SharedArrayBuffer, port: ResponsePort) {
    this.id = id;
    this.ring = ring;
    this.#view = Buffer.from(ring);
    this.#source = source;
    this.#port = port;
    if (source instanceof FileRangeReadable) {
      this.#file = source;
      source.on('error', (error) => this.#finish(describeError(error)));
      void this.#pullFile();
      return;
    }
    source.on('data', this.#onData);
    source.once('end', () => {
      this.#sourceEnded = true;
      if (this.#rest === undefined) this.#finish(undefined);
    });
    source.on('error', (error) => this.#finish(describeError(error)));
    source.once('close', () => {
      if (!this.#sourceEnded) this.#finish('the body was destroyed before its end');
    });
  }

  /** True while the body is read (the ring has room): its producer needs the event loop. */
  get isFlowing(): boolean {
    return this.#state === 'running' && this.#room() > 0;
  }

  /** The IO thread's writes of `bytes` more are done: their room in the ring is free again. */
  credit(bytes: number): void {
    this.#credited += bytes;
    if (this.#state !== 'running') return;
    if (this.#file !== undefined) {
      void this.#pullFile();
      return;
    }
    const rest = this.#rest;
    if (rest === undefined) {
      this.#source.resume();
      return;
    }
    const copied = this.#copy(rest);
    if (copied < rest.byteLength) {
      this.#rest = rest.subarray(copied);
      return;
    }
    this.#rest = undefined;
    if (this.#sourceEnded) this.#finish(undefined);
    else this.#source.resume();
  }

  /** The response ended before the body did (the client left): the body is destroyed, its producer stops. */
  cancel(): void {
    if (this.#state !== 'running') return;
    this.#state = 'cancelled';
    this.#rest = undefined;
    this.#source.destroy();
  }

  /** Calls `callback` once nothing writes into the ring any more (at once, or when a read in flight lands). */
  whenIdle(callback: () => void): void {
    if (this.#isReading) this.#onIdle = callback;
    else callback();
  }

  #room(): number {
    return streamWindowBytes - (this.#written - this.#credited);
  }

  readonly #onData = (chunk: unknown): void => {
    if (this.#state !== 'running') return;
    let bytes: Uint8Array;
    if (chunk instanceof Uint8Array) bytes = chunk;
    else if (typeof chunk === 'string') bytes = Buffer.from(chunk);
    else {
      this.#source.destroy(
        new TypeError(`a response body chunk must be a Uint8Array or a string, got ${typeof chunk}`),
      );
      return;
    }
    if (this.#rest !== undefined) {
      // A source that pushed once more after being paused: its bytes wait behind the rest.
      this.#rest = Buffer.concat([this.#rest, bytes]);
      return;
    }
    const copied = this.#copy(bytes);
    if (copied < bytes.byteLength) {
      this.#rest = bytes.subarray(copied);
      this.#source.pause();
    }
  };

  /** Copies as much of `bytes` as the ring has room for, in pieces that do not wrap; returns how much. */
  #copy(bytes: Uint8Array): number {
    let copied = 0;
    while (copied < bytes.byteLength) {
      const room = this.#room();
      if (room <= 0) break;
      const at = this.#written % streamWindowBytes;
      const length = Math.min(bytes.byteLength - copied, room, streamWindowBytes - at);
      this.#view.set(bytes.subarray(copied, copied + length), at);
      this.#written += length;
      copied += length;
      this.#port.chunk(this.id, at, length);
    }
    return copied;
  }

  /** Reads the file into the ring while it has room; credit calls it again. */
  async #pullFile(): Promise<void> {
    const file = this.#file!;
    if (this.#isReading) return;
    this.#isReading = true;
    try {
      while (this.#state === 'running') {
        const room = this.#room();
        if (room <= 0) break;
        const at = this.#written % streamWindowBytes;
        const read = await file.readInto(this.#view, at, Math.min(room, streamWindowBytes - at, fileReadBytes));
        if (this.#state !== 'running') break;
        if (read === 0) {
          this.#finish(undefined);
          file.destroy();
          break;
        }
        this.#written += read;
        this.#port.chunk(this.id, at, read);
      }
    } catch (error) {
      this.#finish(describeError(error));
      file.destroy();
    } finally {
      this.#isReading = false;
      const onIdle = this.#onIdle;
      this.#onIdle = undefined;
      onIdle?.();
    }
  }

  #finish(failure: string | undefined): void {
    if (this.#state !== 'running') return;
    this.#state = 'ended';
    this.#port.end(this.id, failure);
  }
}
