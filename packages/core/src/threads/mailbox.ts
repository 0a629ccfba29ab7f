/**
 * One worker's mailbox: requests and responses travel through shared memory,
 * not through postMessage. A worker waiting for work is woken by one
 * `Atomics.notify` on its signal word, and it rings the pool's doorbell
 * (doorbell.ts), so a burst of responses costs one wake-up of the IO thread.
 * A request or response too big for its region goes through the worker's
 * MessagePort instead (bodies transferred, not copied) and the mailbox only
 * says so; the reader takes it with `receiveMessageOnPort`.
 *
 * A mailbox is two rings of `ringDepth` entries: requests (IO → worker) and
 * responses (worker → IO). A worker still runs one request at a time, in the
 * order they were posted (Mummy's model); the ring lets the IO thread hand a
 * worker whose handlers have been finishing quickly its next few at once, so one
 * wake-up serves several requests. A request the worker has not taken yet
 * can be taken back by the IO thread (`revoke`), for a worker that is free
 * sooner: each request entry has a state word both sides change with
 * compare-and-swap, so exactly one of them wins.
 *
 * Its layout is part of the dispatch protocol: bump `protocolVersion`
 * (message-codec.ts) on any change to it.
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { RequestHead } from '../http/request.js';
import { bodyByteLength, type PreparedResponse, type ResponseBody } from '../http/response.js';
import { transferableOf } from '../http/transferable.js';
import {
  decodeHead,
  encodeHead,
  readUtf8,
  writeUtf8,
  type DispatchedRequest,
  type PortRequest,
  type PortResponse,
  type ReceivedResponse,
} from './message-codec.js';

/** Requests a worker may hold at once (one running, the others next in line), and responses in flight. */
export const ringDepth = 16;

/** Control words (Int32 indexes) at the start of a mailbox. */
const enum Word {
  /** Requests posted so far (IO thread). */
  RequestPosted = 0,
  /** Responses written so far (worker). */
  ResponseWritten = 1,
  /** Responses read so far (IO thread). */
  ResponseRead = 2,
  /** 1 while the worker waits for room in the response ring. */
  ResponseWaiting = 3,
  /** 1 while the worker's thread runs a WebSocket event handler (it may block). */
  EventsBusy = 4,
  /** Bumped by a timer on the worker's event loop: it stops moving when the thread is stuck. */
  Heartbeat = 5,
  /** Bumped with every request and every message to the worker; the word a worker waits on. */
  Signal = 6,
  /** Counts messages posted to the worker on its parentPort. */
  MessageSeq = 7,
  /** 1 while the worker waits for a request without running its event loop. */
  SyncWaiting = 8,
  /** First word of the request entries, then the response entries; `entryWords` each. */
  Entries = 16,
}

const entryWords = 10;
/**
 * After the entries: which request entry each posted request is in, then which
 * response entry each written response is in, by sequence number modulo
 * `ringDepth`. Each side writes into the lowest free entry, so a worker that
 * holds one request at a time keeps using the same memory (with 100 workers,
 * spreading over every entry would cost cache and TLB misses on each request).
 */
const requestOrderWord = Word.Entries + 2 * ringDepth * entryWords;
const responseOrderWord = requestOrderWord + ringDepth;

/** Words of a request entry. */
const enum RequestWord {
  State = 0,
  Id = 1,
  HeadBytes = 2,
  BodyBytes = 3,
  ViaPort = 4,
}

/** The states of a request entry. */
const EntryState = {
  /** Free for the IO thread to write. */
  Empty: 0,
  /** Written, not taken yet. */
  Ready: 1,
  /** Taken by the worker (it copies it out, then marks it Empty). */
  Taken: 2,
  /** Taken back by the IO thread; the worker skips it, then marks it Empty. */
  Revoked: 3,
} as const;

/** Words of a response entry. */
const enum ResponseWord {
  Id = 0,
  /** 1: only says the handler settled (after its response); 0: a response. */
  SettledOnly = 1,
  /** The handler had settled when this response was written. */
  Settled = 2,
  Status = 3,
  HeadBytes = 4,
  BodyBytes = 5,
  ViaPort = 6,
  /** 1 from when the worker wrote the entry until the IO thread has read it. */
  Full = 7,
  /** 1: the body was a string of at most `textBodyBytes` bytes, read back as one. */
  BodyIsText = 8,
}

/**
 * String bodies up to this size cross back as strings: Node writes a string
 * body and its head in one piece, a Buffer body as a second chunk of a
 * vectored write, which costs the IO thread more than decoding a small body.
 */
const textBodyBytes = 8 * 1024;

const controlBytes = 4 * (responseOrderWord + ringDepth);
/** Bytes for one request (head + body) or one response in shared memory. */
export const regionBytes = 32 * 1024;

/** First word of the response entries. */
const responseEntries = Word.Entries + ringDepth * entryWords;
const requestWord = (entry: number, word: RequestWord): number => Word.Entries + entry * entryWords + word;
const responseWord = (entry: number, word: ResponseWord): number => responseEntries + entry * entryWords + word;
const requestOffset = (entry: number): number => controlBytes + entry * regionBytes;
const responseOffset = (entry: number): number => controlBytes + (ringDepth + entry) * regionBytes;

export function createMailboxMemory(): SharedArrayBuffer {
  return new SharedArrayBuffer(controlBytes + 2 * ringDepth * regionBytes);
}

/** One worker's mailbox; the IO thread and the worker each hold a view of the same memory. */
export class Mailbox {
  readonly #control: Int32Array;
  readonly #bytes: Buffer;
  /** IO thread: requests posted. Worker: the next request entry to look at. */
  #requestSeq = 0;
  /** IO thread: responses read. Worker: responses written. */
  #responseSeq = 0;
  #messagesSeen = 0;
  /** Worker: called after skipping requests the IO thread took back (their entries are free again). */
  readonly #onSkipped: (() => void) | undefined;

  constructor(memory: SharedArrayBuffer, onSkipped?: () => void) {
    this.#control = new Int32Array(memory, 0, controlBytes / 4);
    this.#bytes = Buffer.from(memory);
    this.#onSkipped = onSkipped;
  }

  // ── IO thread side ──────────────────────────────────────────────────────

  /** True when a request entry is free (the worker has moved past what was there). */
  canPost(): boolean {
    return this.#freeRequestEntry() >= 0;
  }

  /** The lowest request entry the worker is done with, or -1. */
  #freeRequestEntry(): number {
    for (let entry = 0; entry < ringDepth; entry++) {
      if (Atomics.load(this.#control, requestWord(entry, RequestWord.State)) === EntryState.Empty) return entry;
    }
    return -1;
  }

  /**
   * Writes a request into a free entry (`canPost()` must be true) and returns
   * the entry; `wake()` then wakes the worker. A request that does not fit
   * goes through `port`: such a request must not be revoked.
   */
  postRequest(request: DispatchedRequest, port: MessagePort): number {
    const c = this.#control;
    const seq = this.#requestSeq++;
    const entry = this.#freeRequestEntry();
    const head = encodeHead(request.head);
    const headBytes = Buffer.byteLength(head);
    const body = request.body;
    const bodyBytes = body === undefined ? -1 : body.byteLength;
    c[requestWord(entry, RequestWord.Id)] = request.id;
    if (headBytes + Math.max(bodyBytes, 0) <= regionBytes) {
      const offset = requestOffset(entry);
      this.#bytes.write(head, offset, 'utf8');
      if (body !== undefined) body.copy(this.#bytes, offset + headBytes);
      c[requestWord(entry, RequestWord.HeadBytes)] = headBytes;
      c[requestWord(entry, RequestWord.BodyBytes)] = bodyBytes;
      c[requestWord(entry, RequestWord.ViaPort)] = 0;
    } else {
      const transfer = transferableOf(body);
      const message: PortRequest = [request.id, head, body];
      port.postMessage(message, transfer === undefined ? [] : [transfer]);
      c[requestWord(entry, RequestWord.ViaPort)] = 1;
    }
    Atomics.store(c, requestWord(entry, RequestWord.State), EntryState.Ready);
    Atomics.store(c, requestOrderWord + (seq % ringDepth), entry);
    Atomics.store(c, Word.RequestPosted, this.#requestSeq);
    Atomics.add(c, Word.Signal, 1);
    return entry;
  }

  /** True when a request of this size is written into the mailbox itself (and can be revoked). */
  static fits(head: RequestHead, body: Buffer | undefined): boolean {
    // A cheap upper bound: UTF-8 needs at most 3 bytes per UTF-16 unit.
    let units =
      head.method.length + head.uri.length + head.remoteAddress.length + head.path.length + head.search.length + 16;
    for (const field of head.rawHeaders) units += field.length + 1;
    return 3 * units + (body?.byteLength ?? 0) <= regionBytes;
  }

  /**
   * Takes back the request in `entry` if the worker has not taken it yet. A
   * request that went through the port cannot be revoked.
   */
  revoke(entry: number): boolean {
    const state = requestWord(entry, RequestWord.State);
    return Atomics.compareExchange(this.#control, state, EntryState.Ready, EntryState.Revoked) === EntryState.Ready;
  }

  /** Wakes the worker if it sleeps waiting for a request. */
  wake(): void {
    Atomics.notify(this.#control, Word.Signal);
  }

  /**
   * Called after posting a message to the worker: a worker waiting for its
   * next request without running its event loop returns to the loop to read it.
   */
  messagePosted(): void {
    const c = this.#control;
    Atomics.add(c, Word.MessageSeq, 1);
    Atomics.add(c, Word.Signal, 1);
    if (Atomics.load(c, Word.SyncWaiting) === 1) Atomics.notify(c, Word.Signal);
  }

  /** The oldest response (or settlement) not read yet, if any. */
  takeResponse(port: MessagePort): ReceivedResponse | undefined {
    const c = this.#control;
    const seq = this.#responseSeq;
    if (Atomics.load(c, Word.ResponseWritten) === seq) return undefined;
    const entry = Atomics.load(c, responseOrderWord + (seq % ringDepth));
    const id = c[responseWord(entry, ResponseWord.Id)]!;
    const settled = c[responseWord(entry, ResponseWord.Settled)] === 1;
    let response: PreparedResponse | undefined;
    if (c[responseWord(entry, ResponseWord.SettledOnly)] === 1) {
      response = undefined;
    } else if (c[responseWord(entry, ResponseWord.ViaPort)] === 1) {
      const [, status, headers, body] = receiveMessageOnPort(port)!.message as PortResponse;
      response = { status, headers, body };
    } else {
      const offset = responseOffset(entry);
      const headBytes = c[responseWord(entry, ResponseWord.HeadBytes)]!;
      const bodyBytes = c[responseWord(entry, ResponseWord.BodyBytes)]!;
      const headers = headBytes === 0 ? [] : this.#bytes.toString('utf8', offset, offset + headBytes).split('\0');
      const bodyStart = offset + headBytes;
      let body: ResponseBody | undefined;
      if (c[responseWord(entry, ResponseWord.BodyIsText)] === 1) {
        body = readUtf8(this.#bytes, bodyStart, bodyStart + bodyBytes);
      } else if (bodyBytes >= 0) {
        body = Buffer.allocUnsafe(bodyBytes);
        this.#bytes.copy(body, 0, bodyStart, bodyStart + bodyBytes);
      }
      response = { status: c[responseWord(entry, ResponseWord.Status)]!, headers, body };
    }
    this.#responseSeq = seq + 1;
    Atomics.store(c, responseWord(entry, ResponseWord.Full), 0);
    Atomics.store(c, Word.ResponseRead, seq + 1);
    if (Atomics.load(c, Word.ResponseWaiting) === 1) Atomics.notify(c, Word.ResponseRead);
    return { id, response, settled };
  }

  /** True while the worker's thread runs a WebSocket event handler. */
  get eventsBusy(): boolean {
    return Atomics.load(this.#control, Word.EventsBusy) === 1;
  }

  /** The worker's heartbeat counter. */
  get heartbeat(): number {
    return Atomics.load(this.#control, Word.Heartbeat);
  }

  // ── worker side ─────────────────────────────────────────────────────────

  beat(): void {
    Atomics.add(this.#control, Word.Heartbeat, 1);
  }

  setEventsBusy(busy: boolean): void {
    Atomics.store(this.#control, Word.EventsBusy, busy ? 1 : 0);
  }

  /** True when a request has been posted that this worker has not looked at yet. */
  hasRequest(): boolean {
    return Atomics.load(this.#control, Word.RequestPosted) !== this.#requestSeq;
  }

  /** The next request posted to this worker and not revoked, if one is there now. */
  takeRequest(port: MessagePort): DispatchedRequest | undefined {
    const c = this.#control;
    let skipped = false;
    let request: DispatchedRequest | undefined;
    while (this.#requestSeq !== Atomics.load(c, Word.RequestPosted)) {
      const seq = this.#requestSeq++;
      const entry = Atomics.load(c, requestOrderWord + (seq % ringDepth));
      const state = Word.Entries + entry * entryWords + RequestWord.State;
      if (Atomics.compareExchange(c, state, EntryState.Ready, EntryState.Taken) !== EntryState.Ready) {
        // Revoked: the IO thread gave it to another worker.
        Atomics.store(c, state, EntryState.Empty);
        skipped = true;
        continue;
      }
      request = this.#readRequest(entry, port);
      Atomics.store(c, state, EntryState.Empty);
      break;
    }
    if (skipped) this.#onSkipped?.();
    return request;
  }

  /**
   * Waits up to `ms` for a request without running the event loop: a futex
   * wake-up is much cheaper than waking an event loop, and under load the next
   * request usually comes within that time. Returns undefined when the time is
   * up or a message was posted to the worker since `markMessagesSeen()` (its
   * event loop must read it first; a request that came meanwhile stays in the
   * mailbox for `nextRequest()`).
   */
  waitForRequestFor(ms: number, port: MessagePort): DispatchedRequest | undefined {
    const c = this.#control;
    Atomics.store(c, Word.SyncWaiting, 1);
    const signal = Atomics.load(c, Word.Signal);
    if (
      Atomics.load(c, Word.RequestPosted) === this.#requestSeq &&
      Atomics.load(c, Word.MessageSeq) === this.#messagesSeen
    ) {
      Atomics.wait(c, Word.Signal, signal, ms);
    }
    Atomics.store(c, Word.SyncWaiting, 0);
    // Messages first: the event loop reads them, and the request waits for it.
    if (Atomics.load(c, Word.MessageSeq) !== this.#messagesSeen) return undefined;
    return this.takeRequest(port);
  }

  /**
   * Called before a turn of the event loop: the messages posted so far are
   * queued on the worker's port, so that turn reads them.
   */
  markMessagesSeen(): void {
    this.#messagesSeen = Atomics.load(this.#control, Word.MessageSeq);
  }

  /** Resolves when a request arrives, leaving the event loop free meanwhile. */
  async nextRequest(port: MessagePort): Promise<DispatchedRequest> {
    const c = this.#control;
    for (;;) {
      const signal = Atomics.load(c, Word.Signal);
      const request = this.takeRequest(port);
      if (request !== undefined) return request;
      const wait = Atomics.waitAsync(c, Word.Signal, signal);
      if (wait.async) await wait.value;
    }
  }

  #readRequest(entry: number, port: MessagePort): DispatchedRequest {
    const c = this.#control;
    // Word indexes written out: in a worker this runs cold, where each small call counts.
    const words = Word.Entries + entry * entryWords;
    if (c[words + RequestWord.ViaPort] === 1) {
      const [id, head, body] = receiveMessageOnPort(port)!.message as PortRequest;
      return {
        id,
        head: decodeHead(head),
        body: body === undefined ? undefined : Buffer.from(body.buffer, body.byteOffset, body.byteLength),
      };
    }
    const offset = requestOffset(entry);
    const headBytes = c[words + RequestWord.HeadBytes]!;
    const bodyBytes = c[words + RequestWord.BodyBytes]!;
    const head = decodeHead(readUtf8(this.#bytes, offset, offset + headBytes));
    let body: Buffer | undefined;
    if (bodyBytes >= 0) {
      body = Buffer.allocUnsafeSlow(bodyBytes);
      this.#bytes.copy(body, 0, offset + headBytes, offset + headBytes + bodyBytes);
    }
    return { id: c[words + RequestWord.Id]!, head, body };
  }

  /**
   * A free response entry (the lowest): once the IO thread has read one, if
   * all are full. A thread answering faster than the IO thread writes
   * responses out waits here, with its requests still in order.
   */
  #freeResponseEntry(): number {
    const c = this.#control;
    for (;;) {
      const read = Atomics.load(c, Word.ResponseRead);
      for (let entry = 0; entry < ringDepth; entry++) {
        if (Atomics.load(c, responseEntries + entry * entryWords + ResponseWord.Full) === 0) return entry;
      }
      Atomics.store(c, Word.ResponseWaiting, 1);
      if (Atomics.load(c, Word.ResponseRead) === read) Atomics.wait(c, Word.ResponseRead, read, 50);
      Atomics.store(c, Word.ResponseWaiting, 0);
    }
  }

  /** Hands the response in `entry` to the IO thread, after those written before it. */
  #publishResponse(entry: number): void {
    const c = this.#control;
    const seq = this.#responseSeq++;
    Atomics.store(c, responseEntries + entry * entryWords + ResponseWord.Full, 1);
    Atomics.store(c, responseOrderWord + (seq % ringDepth), entry);
    Atomics.store(c, Word.ResponseWritten, seq + 1);
  }

  /** Writes a response; the caller rings the doorbell. */
  putResponse(id: number, response: PreparedResponse, settled: boolean, port: MessagePort): void {
    const c = this.#control;
    const entry = this.#freeResponseEntry();
    const words = responseEntries + entry * entryWords;
    const head = response.headers.join('\0');
    const body = response.body;
    c[words + ResponseWord.Id] = id;
    c[words + ResponseWord.SettledOnly] = 0;
    c[words + ResponseWord.Settled] = settled ? 1 : 0;
    // UTF-8 takes at most 3 bytes per UTF-16 unit: within that bound the sizes need not be
    // counted first, the writes say them.
    const bound =
      3 * head.length + (body === undefined ? 0 : typeof body === 'string' ? 3 * body.length : body.byteLength);
    if (bound <= regionBytes || this.#fitsExactly(head, body)) {
      const bytes = this.#bytes;
      const offset = responseOffset(entry);
      const headBytes = writeUtf8(bytes, head, offset);
      let bodyBytes = -1;
      let text = 0;
      if (typeof body === 'string') {
        bodyBytes = writeUtf8(bytes, body, offset + headBytes);
        if (bodyBytes <= textBodyBytes) text = 1;
      } else if (body !== undefined) {
        bytes.set(body, offset + headBytes);
        bodyBytes = body.byteLength;
      }
      c[words + ResponseWord.BodyIsText] = text;
      c[words + ResponseWord.Status] = response.status;
      c[words + ResponseWord.HeadBytes] = headBytes;
      c[words + ResponseWord.BodyBytes] = bodyBytes;
      c[words + ResponseWord.ViaPort] = 0;
    } else {
      const transfer = transferableOf(body);
      const message: PortResponse = [id, response.status, response.headers, body];
      port.postMessage(message, transfer === undefined ? [] : [transfer]);
      c[words + ResponseWord.ViaPort] = 1;
    }
    this.#publishResponse(entry);
  }

  #fitsExactly(head: string, body: string | Uint8Array | undefined): boolean {
    return Buffer.byteLength(head) + bodyByteLength(body) <= regionBytes;
  }

  /** Records that the handler of `id` settled after its response; the caller rings the doorbell. */
  putSettled(id: number): void {
    const c = this.#control;
    const entry = this.#freeResponseEntry();
    const words = responseEntries + entry * entryWords;
    c[words + ResponseWord.Id] = id;
    c[words + ResponseWord.SettledOnly] = 1;
    c[words + ResponseWord.Settled] = 1;
    this.#publishResponse(entry);
  }
}
