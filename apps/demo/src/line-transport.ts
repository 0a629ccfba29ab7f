// JSON-RPC over stdin/stdout, one message a line, for both stdio modes: the demo's own server
// (`--stdio`) and the relay to a running HTTP demo (`--stdio --url`).
import {
  ReadBuffer,
  serializeMessage,
  STDIO_DEFAULT_MAX_BUFFER_SIZE,
  type JSONRPCMessage,
  type Transport,
} from '@modelcontextprotocol/server';
import { isRequest, isResponse } from './json-rpc.js';

type RequestId = string | number;

/**
 * JSON-RPC over stdin/stdout, one message a line, that answers everything it was asked before it
 * closes: at the end of input it waits until every request already received has its response
 * (so `printf '…' | mummyx-demo --stdio` gets all its answers), then closes. A 2026-07-28
 * `subscriptions/listen` never ends by itself, so it does not hold the close back.
 */
export class LineTransport implements Transport {
  readonly #input: NodeJS.ReadableStream;
  readonly #output: NodeJS.WritableStream;
  readonly #buffer = new ReadBuffer({ maxBufferSize: STDIO_DEFAULT_MAX_BUFFER_SIZE });
  readonly #pending = new Set<RequestId>();
  readonly #listens = new Set<RequestId>();
  #isInputEnded = false;
  #isClosed = false;
  readonly closed: Promise<void>;
  #resolveClosed: () => void = () => {};

  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  constructor(input: NodeJS.ReadableStream, output: NodeJS.WritableStream) {
    this.#input = input;
    this.#output = output;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  start(): Promise<void> {
    this.#input.on('data', this.#onData);
    this.#input.once('end', this.#onEnd);
    this.#input.on('error', this.#onInputError);
    this.#output.on('error', this.#onOutputError);
    return Promise.resolve();
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.#isClosed) return;
    const id = isResponse(message) ? message.id : undefined;
    const isWritten = this.#output.write(serializeMessage(message));
    if (!isWritten) await new Promise((resolve) => this.#output.once('drain', resolve));
    if (id !== undefined) {
      this.#pending.delete(id);
      this.#listens.delete(id);
      this.#closeIfDone();
    }
  }

  close(): Promise<void> {
    if (this.#isClosed) return Promise.resolve();
    this.#isClosed = true;
    this.#input.off('data', this.#onData);
    this.#input.off('end', this.#onEnd);
    this.#input.off('error', this.#onInputError);
    this.#output.off('error', this.#onOutputError);
    this.#buffer.clear();
    this.onclose?.();
    this.#resolveClosed();
    return Promise.resolve();
  }

  readonly #onData = (chunk: Buffer): void => {
    try {
      this.#buffer.append(chunk);
      for (let message = this.#buffer.readMessage(); message !== null; message = this.#buffer.readMessage()) {
        if (isRequest(message)) {
          (message.method === 'subscriptions/listen' ? this.#listens : this.#pending).add(message.id);
        }
        this.onmessage?.(message);
      }
    } catch (error) {
      // A line that is not JSON-RPC, or one past the size bound: report it and drop the input.
      this.onerror?.(error as Error);
      this.#buffer.clear();
    }
  };

  readonly #onEnd = (): void => {
    this.#isInputEnded = true;
    this.#closeIfDone();
  };

  readonly #onInputError = (error: Error): void => {
    this.onerror?.(error);
    this.#onEnd();
  };

  readonly #onOutputError = (error: Error): void => {
    // The client went away (EPIPE): nobody is left to answer.
    this.onerror?.(error);
    this.#pending.clear();
    this.#isInputEnded = true;
    this.#closeIfDone();
  };

  #closeIfDone(): void {
    if (this.#isInputEnded && this.#pending.size === 0) void this.close();
  }
}
