import type { AuthInfo } from './mcp-types.js';
import type { LazyRequestStateCodec } from './request-state.js';
import { isSdkV2Installed } from './sdk-v2.js';
import type { McpServerLike, McpSessionInfo } from './session-transport.js';

/** The list methods (and `server/discover`, `resources/read`) whose 2026-07-28 results carry caching hints. */
export type CacheableMethod =
  'tools/list' | 'prompts/list' | 'resources/list' | 'resources/templates/list' | 'resources/read' | 'server/discover';

/** How long a client may reuse a result (`ttlMs`) and whether a shared cache may keep it (`cacheScope`). */
export interface CacheHint {
  ttlMs: number;
  cacheScope: 'public' | 'private';
}

/** What the server factory learns about the session, or the one 2026-07-28 request, it makes a server for. */
export interface McpServerContext extends McpSessionInfo {
  /**
   * `'legacy'`: a 2025-era (or 2024-11-05) session, served until it ends.
   * `'modern'`: one 2026-07-28 request, served statelessly; `id` is then a
   * fresh id of that request, and `protocolVersion` the version it claims.
   */
  readonly era: 'legacy' | 'modern';
  /** What `authenticate` returned for the request, when the mount has the hook. */
  readonly authInfo: AuthInfo | undefined;
  /**
   * Options for an SDK 2.x server, to spread into
   * `new McpServer(info, { ...ctx.serverOptions, capabilities })`: the
   * mount's `requestState` verification (its shared key, so a retry on any
   * worker verifies) and its `cacheHints`. Empty when
   * `@modelcontextprotocol/server` is not installed; an SDK 1.x server
   * leaves it unused.
   */
  readonly serverOptions: Readonly<Record<string, unknown>>;
}

export type CreateServer = (ctx: McpServerContext) => McpServerLike | Promise<McpServerLike>;

/**
 * The mount's server factory on one thread: calls the application's
 * `createServer` with the context above, and remembers which SDK line its
 * servers come from (the first server tells; the 2026-07-28 path needs it
 * before it can answer).
 */
export class ServerFactory {
  readonly #createServer: CreateServer;
  readonly #codec: LazyRequestStateCodec;
  readonly #cacheHints: Partial<Record<CacheableMethod, CacheHint>> | undefined;
  #serverOptions: Readonly<Record<string, unknown>> | undefined;
  #line: SdkLine | undefined;

  constructor(
    createServer: CreateServer,
    codec: LazyRequestStateCodec,
    cacheHints: Partial<Record<CacheableMethod, CacheHint>> | undefined,
  ) {
    this.#createServer = createServer;
    this.#codec = codec;
    this.#cacheHints = cacheHints;
  }

  /** The SDK line of this mount's servers, once one was made on this thread. */
  get line(): SdkLine | undefined {
    return this.#line;
  }

  /** Makes a server for a session or a 2026-07-28 request. */
  async create(info: McpSessionInfo, era: 'legacy' | 'modern', authInfo: AuthInfo | undefined): Promise<McpServerLike> {
    const serverOptions = this.serverOptions();
    const server = await this.#createServer({ ...info, era, authInfo, serverOptions });
    if (typeof server?.connect !== 'function' || typeof server.close !== 'function') {
      throw new TypeError('createServer must return an McpServer or Server of @modelcontextprotocol/sdk or /server');
    }
    this.#line ??= sdkLineOf(server);
    return server;
  }

  /**
   * `ctx.serverOptions`, made once per thread. The codec's `verify` loads SDK
   * 2.x on its first call, so making the options loads nothing.
   */
  serverOptions(): Readonly<Record<string, unknown>> {
    if (this.#serverOptions === undefined) {
      const verify = this.#codec.verify;
      this.#serverOptions = Object.freeze(
        isSdkV2Installed()
          ? { requestState: { verify }, ...(this.#cacheHints === undefined ? {} : { cacheHints: this.#cacheHints }) }
          : {},
      );
    }
    return this.#serverOptions;
  }
}

/** Which SDK line made a server object. */
export type SdkLine = 'v1' | 'v2';

/**
 * The SDK line of an `McpServer` or low-level `Server`: SDK 2.x servers have
 * `getNegotiatedProtocolVersion` (on the low-level `Server`, which an
 * `McpServer` holds as `.server`); SDK 1.x servers do not. Duck-typed, never
 * `instanceof`: the application may hold its own copy of either SDK.
 */
export function sdkLineOf(server: unknown): SdkLine {
  const outer = server as { server?: unknown } | null;
  const inner = (typeof outer?.server === 'object' && outer.server !== null ? outer.server : outer) as {
    getNegotiatedProtocolVersion?: unknown;
  } | null;
  return typeof inner?.getNegotiatedProtocolVersion === 'function' ? 'v2' : 'v1';
}
