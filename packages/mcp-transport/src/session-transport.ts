import type { JSONRPCMessage, MessageExtraInfo, Transport, TransportSendOptions } from './mcp-types.js';

export type TransportKind = 'streamable-http' | 'sse' | 'websocket';

/** What the session factory and hooks learn about a session. */
export interface McpSessionInfo {
  /** The `Mcp-Session-Id` (Streamable HTTP), `sessionId` query parameter (legacy SSE) or socket's session id. */
  readonly id: string;
  readonly transport: TransportKind;
  readonly remoteAddress: string;
  /** The protocol version the client asked for in `initialize`, once known. */
  readonly protocolVersion: string | undefined;
}

/**
 * The part of an `McpServer` (or low-level `Server`) this package uses, from
 * `@modelcontextprotocol/sdk` 1.x or `@modelcontextprotocol/server` 2.x.
 */
export interface McpServerLike {
  connect(transport: Transport): Promise<void>;
  close(): Promise<void>;
}

/**
 * The protocol-level server behind `server`: an SDK `McpServer`'s `server`,
 * or `server` itself when the factory made a low-level `Server`.
 */
export function protocolServerOf(server: McpServerLike): object {
  const inner = (server as { server?: unknown }).server;
  return typeof inner === 'object' && inner !== null ? inner : server;
}

/** Most resource subscriptions one session keeps track of. */
const maxResourceSubscriptions = 10_000;

/**
 * The SDK-facing half of a session: an MCP `Transport`. Subclasses decide
 * where outgoing messages go.
 */
export abstract class SessionTransport implements Transport {
  sessionId: string | undefined;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  /** The URIs the client asked updates of with `resources/subscribe` (2025 eras). */
  readonly #subscribedUris = new Set<string>();
  #started = false;
  #closed = false;
  readonly #cleanups: Array<() => void> = [];

  constructor(sessionId: string) {
    this.sessionId = sessionId;
  }

  start(): Promise<void> {
    if (this.#started) return Promise.reject(new Error('transport already started'));
    this.#started = true;
    return Promise.resolve();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Whether the client holds the session open now, so the idle sweeper must
   * leave it alone: a session that is one connection (legacy SSE, WebSocket)
   * always, as it ends when its connection does; a Streamable HTTP session
   * while one of its streams is connected.
   */
  abstract get isHeldOpen(): boolean;

  /** Runs once, when the transport closes. */
  onCleanup(callback: () => void): void {
    this.#cleanups.push(callback);
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    for (const cleanup of this.#cleanups.splice(0)) {
      try {
        cleanup();
      } catch (error) {
        this.onerror?.(error instanceof Error ? error : new Error(String(error)));
      }
    }
    this.onclose?.();
    return Promise.resolve();
  }

  /** Hands one incoming message to the SDK. */
  receive(message: JSONRPCMessage, extra?: MessageExtraInfo): void {
    if (this.#closed) return;
    if (message.method === 'resources/subscribe' || message.method === 'resources/unsubscribe') {
      this.#noteSubscription(message);
    }
    this.onmessage?.(message, extra);
  }

  /** Whether the client subscribed to updates of `uri` (`resources/subscribe`). */
  isSubscribed(uri: string): boolean {
    return this.#subscribedUris.has(uri);
  }

  #noteSubscription(message: JSONRPCMessage): void {
    const uri = message.params?.['uri'];
    if (typeof uri !== 'string') return;
    if (message.method === 'resources/unsubscribe') this.#subscribedUris.delete(uri);
    else if (this.#subscribedUris.size < maxResourceSubscriptions) this.#subscribedUris.add(uri);
  }

  abstract send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void>;
}
