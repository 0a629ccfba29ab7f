/**
 * Session keys bound on the IO thread (inline handlers). Threaded servers keep
 * theirs in the pool, next to the worker each key routes to.
 */
export class SessionKeys {
  readonly #keys = new Map<string, number>();

  /** Binds `key` and returns its release; binding a key twice needs two releases. */
  bind(key: string): () => void {
    this.#keys.set(key, (this.#keys.get(key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const count = this.#keys.get(key) ?? 0;
      if (count <= 1) this.#keys.delete(key);
      else this.#keys.set(key, count - 1);
    };
  }

  get size(): number {
    return this.#keys.size;
  }
}
