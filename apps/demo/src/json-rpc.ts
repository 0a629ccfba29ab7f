// JSON-RPC bookkeeping for the stdio modes: which messages are requests and responses, and the
// requests still in flight, so a stdio server answers everything it received before it leaves.
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

export function isRequest(
  message: JSONRPCMessage,
): message is JSONRPCMessage & { id: string | number; method: string } {
  return 'method' in message && 'id' in message;
}

export function isResponse(message: JSONRPCMessage): message is JSONRPCMessage & { id: string | number } {
  return 'id' in message && ('result' in message || 'error' in message);
}

/**
 * The requests received over stdio and not yet answered. `finished` resolves once the input has
 * ended and every request received before is answered — or once nobody is left to answer to.
 */
export class PendingRequests {
  readonly finished: Promise<void>;
  readonly #ids = new Set<string | number>();
  #isInputEnded = false;
  #finish: () => void = () => {};

  constructor() {
    this.finished = new Promise<void>((resolve) => (this.#finish = resolve));
  }

  /** A message came in from the client. */
  received(message: JSONRPCMessage): void {
    if (isRequest(message)) this.#ids.add(message.id);
  }

  /** A message went out to the client. */
  sent(message: JSONRPCMessage): void {
    if (isResponse(message) && this.#ids.delete(message.id)) this.#finishIfIdle();
  }

  /** The client's input ended: leave once the requests in flight are answered. */
  endInput(): void {
    this.#isInputEnded = true;
    this.#finishIfIdle();
  }

  /** Nobody is left to answer (the output failed, the transport closed): leave now. */
  abandon(): void {
    this.#ids.clear();
    this.endInput();
  }

  /** Ends the input when stdin ends or fails, and abandons when stdout fails (EPIPE: the client went away). */
  watchProcessStreams(log: (line: string) => void): void {
    process.stdin.once('end', () => this.endInput());
    process.stdin.on('error', (error) => {
      log(`stdin: ${error.message}`);
      this.endInput();
    });
    process.stdout.on('error', (error: Error) => {
      log(`stdout: ${error.message}`);
      this.abandon();
    });
  }

  #finishIfIdle(): void {
    if (this.#isInputEnded && this.#ids.size === 0) this.#finish();
  }
}
