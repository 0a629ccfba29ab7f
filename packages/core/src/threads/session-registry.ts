/**
 * Session keys bound with `request.bindSession()`, each with the thread that
 * holds it. The server keeps one registry for keys bound by handlers on the
 * IO thread (inline mode, routes pinned inline); the pool keeps one for keys
 * bound on its workers, where a key's owner is the worker its session's later
 * requests are routed to.
 */
export class SessionRegistry<Owner> {
  readonly #bindings = new Map<string, { owner: Owner; count: number }>();
  /** Told when a key becomes bound (`true`) and when it is no longer bound (`false`). */
  onKeyChange: ((key: string, isBound: boolean) => void) | undefined;

  /** Keys bound now. */
  get size(): number {
    return this.#bindings.size;
  }

  ownerOf(key: string): Owner | undefined {
    return this.#bindings.get(key)?.owner;
  }

  /**
   * Binds `key` to `owner`. A key bound again to the same owner needs as many
   * unbinds; bound to another owner, it moves, and the previous owner is
   * returned.
   */
  bind(key: string, owner: Owner): Owner | undefined {
    const binding = this.#bindings.get(key);
    if (binding?.owner === owner) {
      binding.count++;
      return undefined;
    }
    this.#bindings.set(key, { owner, count: 1 });
    if (binding === undefined) this.onKeyChange?.(key, true);
    return binding?.owner;
  }

  /** Releases one binding of `key` by `owner`; true when the key is no longer bound. */
  unbind(key: string, owner: Owner): boolean {
    const binding = this.#bindings.get(key);
    if (binding === undefined || binding.owner !== owner) return false;
    if (--binding.count > 0) return false;
    this.#bindings.delete(key);
    this.onKeyChange?.(key, false);
    return true;
  }

  /** Binds `key` to `owner` and returns the release, which unbinds it once however often it is called. */
  hold(key: string, owner: Owner): () => void {
    this.bind(key, owner);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.unbind(key, owner);
    };
  }

  /** Forgets every key `owner` holds (its thread exited). */
  dropOwner(owner: Owner): void {
    for (const [key, binding] of this.#bindings) {
      if (binding.owner !== owner) continue;
      this.#bindings.delete(key);
      this.onKeyChange?.(key, false);
    }
  }
}

/** The owner of the keys bound by handlers on the IO thread. */
export const ioThread = Symbol('io thread');

/** The server's registry of keys bound on the IO thread. */
export type IoSessions = SessionRegistry<typeof ioThread>;
