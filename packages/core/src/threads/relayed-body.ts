import type { Writable } from 'node:stream';
import type { BodyOutcome, BodyWriter } from '../http/response-stream.js';
import { creditStepBytes } from './response-pump.js';

/** A streamed body's failure on the worker, as the IO thread logs it: the worker's own description. */
class RelayedBodyError extends Error {
  constructor(description: string) {
    super(description.split('\n', 1)[0]);
    this.name = 'RelayedBodyError';
    // The worker's stack says what failed; this thread's would say nothing.
    this.stack = description;
  }
}

/**
 * The IO thread's end of a body a worker streams (ResponsePump): the worker tells where its
 * next bytes are in their shared ring, and this writes them to the socket as views of the
 * ring — no copy, nothing left for the collector — and gives their room back to the worker
 * (credit, in steps of `creditStepBytes`) once each write is done, that is once the kernel
 * has the bytes. So the ring is the whole window: a client that stops reading leaves at most
 * `streamWindowBytes` in the socket's queue, all of it in the ring.
 *
 * `release` tells the worker this end is done with the ring (the body was written whole, or
 * the connection closed, or the response carries no body); a worker still reading the body
 * then stops.
 */
export class RelayedBody implements BodyWriter {
  readonly #view: Buffer;
  readonly #grant: (bytes: number) => void;
  readonly #release: () => void;
  #destination: Writable | undefined;
  #done: ((outcome: BodyOutcome) => void) | undefined;
  /** Bytes whose writes are done, and those given back as credit. */
  #written = 0;
  #credited = 0;
  /** `open` until the worker ends the body or the connection goes. */
  #state: 'open' | 'ended' | 'closed' = 'open';
  #isReleased = false;

  constructor(ring: SharedArrayBuffer, grant: (bytes: number) => void, release: () => void) {
    this.#view = Buffer.from(ring);
    this.#grant = grant;
    this.#release = release;
  }

  writeTo(destination: Writable, done: (outcome: BodyOutcome) => void): void {
    this.#destination = destination;
    this.#done = done;
    destination.once('close', this.#onClose);
  }

  /** The next `length` bytes of the body are at `offset` in the ring. */
  deliver(offset: number, length: number): void {
    const destination = this.#destination;
    if (this.#state !== 'open' || destination === undefined || destination.destroyed) return;
    destination.write(this.#view.subarray(offset, offset + length), (error) => {
      if (error !== undefined && error !== null) return;
      this.#written += length;
      const owed = this.#written - this.#credited;
      if (owed >= creditStepBytes && this.#state === 'open') {
        this.#credited = this.#written;
        this.#grant(owed);
      }
    });
  }

  /** The worker ended the body; `failure` describes why when it failed. */
  finish(failure: string | undefined): void {
    const destination = this.#destination;
    if (this.#state !== 'open' || destination === undefined) return;
    this.#state = 'ended';
    if (failure !== undefined) {
      this.#settle({ isComplete: false, failure: new RelayedBodyError(failure) });
      destination.destroy();
      return;
    }
    destination.end(() => {
      // Every write is done: the ring is free.
      this.#settle({ isComplete: true });
      this.#free();
    });
  }

  /**
   * The response carries no body after all, or its connection is gone: the worker stops
   * reading the body. Also what the destination's closing does.
   */
  destroy(): void {
    this.#state = 'closed';
    this.#settle({ isComplete: false });
    this.#free();
  }

  readonly #onClose = (): void => this.destroy();

  #settle(outcome: BodyOutcome): void {
    const done = this.#done;
    this.#done = undefined;
    done?.(outcome);
  }

  #free(): void {
    if (this.#isReleased) return;
    this.#isReleased = true;
    this.#release();
  }
}
