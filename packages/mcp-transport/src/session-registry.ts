import type { Request, SessionBinding } from '@mummyx/core';
import { ErrorCode, respondError } from './json-rpc.js';
import type { McpServerLike, McpSessionInfo, SessionTransport, TransportKind } from './session-transport.js';

export type SessionCloseReason = 'deleted' | 'idle' | 'disconnected' | 'server' | 'closed';

/** One open session: its transport, its MCP server and its binding to this thread. */
export interface Session {
  info: { -readonly [K in keyof McpSessionInfo]: McpSessionInfo[K] };
  transport: SessionTransport;
  server: McpServerLike | undefined;
  binding: SessionBinding | undefined;
  lastActivity: number;
  initialized: boolean;
  closeReason: SessionCloseReason | undefined;
}

export interface SessionRegistryOptions {
  createServer: (session: McpSessionInfo) => McpServerLike | Promise<McpServerLike>;
  /** Sessions open at once; more get 503. */
  maxSessions: number;
  /** A Streamable HTTP session without requests or open streams for this long is closed; 0 never. */
  sessionIdleTimeoutMs: number;
  onSessionCreated?: ((session: McpSessionInfo) => void) | undefined;
  onSessionClosed?: ((session: McpSessionInfo, reason: SessionCloseReason) => void) | undefined;
  log: (message: string) => void;
}

/**
 * The sessions of every transport open on this thread. In threaded mode each
 * worker has its own: a session is bound (`request.bindSession`) to the worker
 * that made it, so its requests come back there.
 */
export class SessionRegistry {
  readonly #options: SessionRegistryOptions;
  readonly #sessions = new Map<string, Session>();
  #sweeper: NodeJS.Timeout | undefined;

  constructor(options: SessionRegistryOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#sessions.size;
  }

  ids(): string[] {
    return [...this.#sessions.keys()];
  }

  get(id: string): Session | undefined {
    return this.#sessions.get(id);
  }

  /** Answers 503 with `Retry-After` and returns true when the registry holds `maxSessions` already. */
  refuseWhenFull(request: Request, headers: Record<string, string>): boolean {
    if (this.#sessions.size < this.#options.maxSessions) return false;
    respondError(
      request,
      503,
      ErrorCode.ConnectionClosed,
      `Service Unavailable: the server holds its maximum of ${this.#options.maxSessions} sessions; retry later`,
      { 'Retry-After': '5', ...headers },
    );
    return true;
  }

  /**
   * Registers a session, binds it to this thread and connects a new MCP
   * server to its transport. The session leaves the registry when its
   * transport closes; if the server cannot be made or connected, the
   * transport is closed and the error rethrown.
   */
  async start(
    request: Request,
    kind: TransportKind,
    id: string,
    transport: SessionTransport,
    protocolVersion: string | undefined,
  ): Promise<Session> {
    const session: Session = {
      info: { id, transport: kind, remoteAddress: request.remoteAddress, protocolVersion },
      transport,
      server: undefined,
      binding: undefined,
      lastActivity: Date.now(),
      initialized: false,
      closeReason: undefined,
    };
    this.#sessions.set(id, session);
    session.binding = request.bindSession(id);
    transport.onCleanup(() => this.#forget(session));
    try {
      const server = await this.#options.createServer(session.info);
      session.server = server;
      await server.connect(transport);
    } catch (error) {
      await transport.close();
      throw error;
    }
    this.#startSweeper();
    return session;
  }

  /** The session is initialised: runs `onSessionCreated` once. */
  created(session: Session): void {
    if (session.initialized) return;
    session.initialized = true;
    try {
      this.#options.onSessionCreated?.(session.info);
    } catch (error) {
      this.#options.log(`onSessionCreated threw: ${String(error)}`);
    }
  }

  /** Records activity, which keeps the session from the idle sweeper. */
  touch(session: Session): void {
    session.lastActivity = Date.now();
  }

  /** Closes the session's server and transport; the first reason given is the one reported. */
  async close(session: Session, reason: SessionCloseReason): Promise<void> {
    session.closeReason ??= reason;
    try {
      if (session.server !== undefined) await session.server.close();
    } catch (error) {
      this.#options.log(`closing session ${session.info.id}: ${String(error)}`);
    }
    await session.transport.close();
  }

  /** Closes every session (reason `server`) and stops the sweeper. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.#sessions.values()].map((session) => this.close(session, 'server')));
    this.#stopSweeper();
  }

  /** The transport closed (for whatever reason): drop every trace of the session. */
  #forget(session: Session): void {
    if (this.#sessions.get(session.info.id) !== session) return;
    this.#sessions.delete(session.info.id);
    session.binding?.release();
    if (session.initialized) {
      try {
        this.#options.onSessionClosed?.(session.info, session.closeReason ?? 'closed');
      } catch (error) {
        this.#options.log(`onSessionClosed threw: ${String(error)}`);
      }
    }
    if (this.#sessions.size === 0) this.#stopSweeper();
  }

  #startSweeper(): void {
    const timeout = this.#options.sessionIdleTimeoutMs;
    if (this.#sweeper !== undefined || timeout === 0) return;
    this.#sweeper = setInterval(() => this.#sweep(), Math.max(50, Math.min(timeout / 2, 60_000)));
    this.#sweeper.unref();
  }

  #stopSweeper(): void {
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  #sweep(): void {
    const deadline = Date.now() - this.#options.sessionIdleTimeoutMs;
    for (const session of this.#sessions.values()) {
      if (session.lastActivity > deadline) continue;
      // A session with an open stream or socket is alive; dead peers are found by keep-alive writes and pings.
      if (session.transport.isHeldOpen) {
        this.touch(session);
        continue;
      }
      void this.close(session, 'idle');
    }
  }
}
