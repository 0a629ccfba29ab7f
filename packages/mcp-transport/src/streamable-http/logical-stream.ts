import type { RequestId } from '../mcp-types.js';
import type { Outlet } from './outlets.js';

/**
 * One stream of a Streamable HTTP session: a POST's response stream, or the
 * standalone GET stream. It outlives its connection when events are stored,
 * so a client can reconnect with `Last-Event-ID` and get the rest.
 */
export class LogicalStream {
  readonly id: string;
  readonly pending = new Set<RequestId>();
  outlet: Outlet | undefined;
  /** Cancels the stream's requests when its client does not come back in time. */
  graceTimer: NodeJS.Timeout | undefined;
  /** Settles the handler that holds the stream's current connection. */
  #release: (() => void) | undefined;

  constructor(id: string) {
    this.id = id;
  }

  attach(outlet: Outlet, release: () => void): void {
    this.detach();
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    this.outlet = outlet;
    this.#release = release;
  }

  /** Ends the current connection (the logical stream may go on). */
  detach(): void {
    const outlet = this.outlet;
    const release = this.#release;
    this.outlet = undefined;
    this.#release = undefined;
    if (outlet !== undefined && !outlet.closed) outlet.finish();
    release?.();
  }

  /** The connection went away from the client's side. */
  lost(): void {
    const release = this.#release;
    this.outlet = undefined;
    this.#release = undefined;
    release?.();
  }
}
