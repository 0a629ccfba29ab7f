import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * What Node's HTTP server keeps on a connection's socket: `_paused` is its
 * flag for "stop reading" (it pauses the parser after the chunk it is in and
 * keeps the socket paused), `parser` the socket's llhttp parser.
 */
interface HttpSocket {
  _paused?: boolean;
  parser?: { pause(): void; resume(): void } | null;
}

/**
 * The responses one connection still owes, in order (pipelined requests queue
 * up), and the requests it may not run yet. At most `maxInFlight` of its
 * requests run or wait for a worker at once; the next ones are held, in
 * order, and the server stops reading the connection until answers go out —
 * so one connection pipelining thousands of requests gets a share of the
 * pool, not all of it, and what it sent is held only as far as the chunk the
 * parser was in.
 */
export class PendingResponses extends Set<ServerResponse> {
  readonly #socket: Socket;
  readonly #maxInFlight: number;
  /** Requests received beyond the limit, to run in order as answers go out. */
  readonly #held: Array<() => void> = [];
  #holding = false;
  #listening = false;

  constructor(socket: Socket, maxInFlight: number) {
    super();
    this.#socket = socket;
    this.#maxInFlight = maxInFlight;
  }

  /** Runs `receive` now, or once the connection's earlier requests leave room. */
  admit(receive: () => void): void {
    if (this.#held.length === 0 && this.size < this.#maxInFlight) {
      receive();
      return;
    }
    this.#held.push(receive);
    this.#stopReading();
  }

  /** A response was answered (or dropped): held requests run while there is room. */
  override delete(res: ServerResponse): boolean {
    if (!super.delete(res)) return false;
    while (this.#held.length > 0 && this.size < this.#maxInFlight) this.#held.shift()!();
    if (this.#holding && this.#held.length === 0 && this.size < this.#maxInFlight) this.#readAgain();
    return true;
  }

  /** The connection closed: nothing it sent will be answered. */
  override clear(): void {
    this.#held.length = 0;
    super.clear();
  }

  /** True while the server does not read the connection because of held requests. */
  get isHolding(): boolean {
    return this.#holding;
  }

  #stopReading(): void {
    if (this.#holding) return;
    this.#holding = true;
    const socket = this.#socket;
    (socket as Socket & HttpSocket)._paused = true;
    socket.pause();
    if (!this.#listening) {
      this.#listening = true;
      // Node's server resumes a connection it paused once its output drains, whoever else paused
      // it: while requests are held, it pauses again at once (the same tick, before any read).
      socket.on('resume', () => {
        if (!this.#holding) return;
        (socket as Socket & HttpSocket)._paused = true;
        socket.pause();
      });
    }
  }

  #readAgain(): void {
    this.#holding = false;
    const socket = this.#socket as Socket & HttpSocket;
    // Output still waiting to drain: Node's server resumes the socket itself once it has.
    if (socket.writableNeedDrain || socket.destroyed) return;
    socket._paused = false;
    socket.parser?.resume();
    socket.resume();
  }
}
