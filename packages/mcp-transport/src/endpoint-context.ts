import type { Request } from '@mummyx/core';
import type { ServerFactory } from './server-factory.js';
import type { SessionRegistry } from './session-registry.js';

/** What the endpoints of one mount (Streamable HTTP, legacy SSE, WebSocket) share. */
export interface EndpointContext {
  /** This thread's sessions, of every transport. */
  readonly sessions: SessionRegistry;
  /** The application's server factory, and the SDK line its servers come from. */
  readonly factory: ServerFactory;
  /** The CORS headers of a response to `request` (none when CORS is off or its origin is not allowed). */
  readonly corsHeaders: (request: Request) => Record<string, string>;
  /** Largest POST body, in bytes. */
  readonly maxMessageBytes: number;
  /** Where transport problems are reported. */
  readonly log: (message: string) => void;
}
