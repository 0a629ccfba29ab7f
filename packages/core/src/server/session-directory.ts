/**
 * Where the sessions of a cluster live, for servers behind a balancer that
 * does not route by session. Attach one with `server.attachSessionDirectory()`
 * on the IO thread; it learns every session key bound on this node and
 * answers, for a key bound on no thread here, which node holds it. The
 * server then forwards the request to that node over HTTP (body, answer and
 * streams piped through), once: a forwarded request is never forwarded again.
 *
 * Only requests of routes with a `session` option are looked up, and only
 * when their key is bound nowhere on this node, so a request that finds its
 * session here costs nothing more.
 */
export interface SessionDirectory {
  /** `key` became bound on this node (`request.bindSession`, on any thread). */
  claim(key: string): void;
  /** `key` is bound on no thread of this node any more. */
  release(key: string): void;
  /**
   * The origin (`http://host:port`) of the live node that holds `key`, or
   * undefined when none does (the request then runs here, and the app
   * answers it as it answers an unknown session: 404 for MCP). Never this
   * node's own origin.
   */
  locate(key: string): Promise<string | undefined>;
  /** This node's name, sent to the owner in the `Mummyx-Forwarded` header. */
  readonly nodeId: string;
  /** Shown as `server.stats().sessionDirectory`. */
  stats(): SessionDirectoryStats;
}

/** What a session directory reports in `server.stats().sessionDirectory`. */
export interface SessionDirectoryStats {
  /** True while lookups reach the shared store. */
  connected: boolean;
  /** Requests forwarded to the node holding their session. */
  forwarded: number;
  /** Lookups that found no live node for the key. */
  unknown: number;
}

/** The header that marks a forwarded request (its value: the forwarding node's id). */
export const forwardedHeader = 'mummyx-forwarded';
