import type { Request, SessionBinding, SharedCount } from '@mummyx/core';
import { ErrorCode, respondError } from './json-rpc.js';
import type { ChangeEvent } from './event-bus.js';
import type { RequestId } from './mcp-types.js';
import type { SessionRate } from './session-rate.js';
import type { McpServerLike, McpSessionInfo, SessionTransport, TransportKind } from './session-transport.js';

export type SessionCloseReason = 'deleted' | 'idle' | 'disconnected' | 'server' | 'closed';

/** What serves a session once its transport is open: an MCP server connected to it, or an SDK entry that owns it. */
export interface SessionServer {
  close(): Promise<void>;
  /** Passes a change event to the client, as the session's era and subscriptions allow. */
  announce(event: ChangeEvent): void;
}

/** One open session: its transport, what serves it and its binding to this thread. */
export interface Session {
  info: { -readonly [K in keyof McpSessionInfo]: McpSessionInfo[K] };
  transport: SessionTransport;
  server: SessionServer | undefined;
  binding: SessionBinding | undefined;
  lastActivity: number;
  initialized: boolean;
  closeReason: SessionCloseReason | undefined;
}

export interface SessionRegistryOptions {
  /** Makes the MCP server of a new session (the request is the one that opens it). */
  createServer: (session: McpSessionInfo, request: Request) => Promise<McpServerLike>;
  /** Sessions open at once in the whole server; more get 503. */
  maxSessions: number;
  /** The sessions open in the whole server, added to by this mount's registry on every worker thread. */
  openSessions: SharedCount;
  /** New sessions per client address per minute; more get 429. Undefined: no limit. */
  rate: SessionRate | undefined;
  /** The limit `rate` enforces, for its message. */
  sessionsPerMinute: number;
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

  /** Sessions open in the whole server (every worker's registry of this mount). */
  get serverSize(): number {
    return this.#options.openSessions.total;
  }

  /**
   * Before a new session: answers 429 with `Retry-After` and returns true
   * when the client's address has opened `sessionsPerMinute` sessions this
   * minute, or 503 with `Retry-After` when the server holds `maxSessions`
   * already.
   */
  refuseNewSession(request: Request, headers: Record<string, string>, replyId: RequestId | null = null): boolean {
    const o = this.#options;
    const wait = o.rate?.take(request.remoteAddress) ?? 0;
    if (wait > 0) {
      o.log(`429 for ${request.remoteAddress}: over ${o.sessionsPerMinute} new sessions this minute`);
      respondError(
        request,
        429,
        ErrorCode.ConnectionClosed,
        `Too Many Requests: this address opened ${o.sessionsPerMinute} sessions within the minute; retry in ${wait} s`,
        { 'Retry-After': String(wait), ...headers },
        replyId,
      );
      return true;
    }
    if (this.serverSize < o.maxSessions) return false;
    respondError(
      request,
      503,
      ErrorCode.ConnectionClosed,
      `Service Unavailable: the server holds its maximum of ${o.maxSessions} sessions; retry later`,
      { 'Retry-After': '5', ...headers },
      replyId,
    );
    return true;
  }

  /**
   * Registers a session, binds it to this thread and starts what serves it:
   * by default a new MCP server connected to its transport; `attach` serves
   * it otherwise (an SDK entry that takes the transport itself). The session
   * leaves the registry when its transport closes; if it cannot be served,
   * the transport is closed and the error rethrown.
   */
  async start(
    request: Request,
    kind: TransportKind,
    id: string,
    transport: SessionTransport,
    protocolVersion: string | undefined,
    attach?: (session: Session) => Promise<SessionServer>,
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
    this.#options.openSessions.add(1);
    session.binding = request.bindSession(id);
    transport.onCleanup(() => this.#forget(session));
    try {
      session.server = attach === undefined ? await this.#connect(session, request) : await attach(session);
    } catch (error) {
      await transport.close();
      throw error;
    }
    this.#startSweeper();
    return session;
  }

  /** A new MCP server, connected to the session's transport. */
  async #connect(session: Session, request: Request): Promise<SessionServer> {
    const server = await this.#options.createServer(session.info, request);
    const served: SessionServer = {
      close: () => server.close(),
      announce: (event) => announceToServer(server, event, session.transport),
    };
    session.server = served;
    await server.connect(session.transport);
    return served;
  }

  /** Passes a change event to every session on this thread. */
  announce(event: ChangeEvent): void {
    for (const session of this.#sessions.values()) {
      if (session.initialized) session.server?.announce(event);
    }
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
    this.#options.openSessions.add(-1);
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

/** Capabilities as both SDK lines keep them (`getCapabilities` is public in 2.x, present in 1.x). */
interface ServerCore {
  getCapabilities?: () => {
    tools?: { listChanged?: boolean };
    prompts?: { listChanged?: boolean };
    resources?: { listChanged?: boolean; subscribe?: boolean };
  };
  sendToolListChanged?: () => Promise<void>;
  sendPromptListChanged?: () => Promise<void>;
  sendResourceListChanged?: () => Promise<void>;
  sendResourceUpdated?: (params: { uri: string }) => Promise<void>;
}

/**
 * Sends a change event from a session's server as a 2025-era notification:
 * a list change when the server declared `listChanged` for that list, a
 * resource update when the client subscribed to that URI
 * (`resources/subscribe`, seen by the transport). `subscribed` undefined
 * sends every update (a 2026-era connection, whose entry filters by its
 * listen streams).
 */
export function announceToServer(
  server: unknown,
  event: ChangeEvent,
  subscriptions: { isSubscribed(uri: string): boolean } | undefined,
): void {
  const outer = server as { server?: unknown } | null;
  const core = (typeof outer?.server === 'object' && outer.server !== null ? outer.server : outer) as ServerCore | null;
  if (core === null) return;
  let capabilities: ReturnType<NonNullable<ServerCore['getCapabilities']>> | undefined;
  try {
    capabilities = core.getCapabilities?.();
  } catch {
    capabilities = undefined;
  }
  let sent: Promise<void> | undefined;
  switch (event.kind) {
    case 'tools_list_changed':
      if (capabilities?.tools?.listChanged === true) sent = core.sendToolListChanged?.();
      break;
    case 'prompts_list_changed':
      if (capabilities?.prompts?.listChanged === true) sent = core.sendPromptListChanged?.();
      break;
    case 'resources_list_changed':
      if (capabilities?.resources?.listChanged === true) sent = core.sendResourceListChanged?.();
      break;
    case 'resource_updated':
      if (subscriptions === undefined || subscriptions.isSubscribed(event.uri)) {
        sent = core.sendResourceUpdated?.({ uri: event.uri });
      }
      break;
  }
  // A session whose connection just went away cannot be told; nothing to do about it.
  sent?.catch(() => {});
}
