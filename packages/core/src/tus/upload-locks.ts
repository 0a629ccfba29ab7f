/**
 * How a TusServer keeps two requests from writing one upload at once. The
 * default, `UploadLocks`, works within one process; servers sharing a
 * directory across processes or machines plug in a shared one (Redis, a
 * database) with the same contract.
 */
export interface UploadLocker {
  /**
   * Resolves with a release function once `id` is held by the caller, or with
   * `undefined` if it could not be had within `timeoutMs` (the request then
   * gets 423). Release must be idempotent.
   */
  acquire(id: string, timeoutMs: number): Promise<(() => void) | undefined>;
  /** True while some request holds `id` (the sweeper skips such uploads). */
  isLocked(id: string): boolean | Promise<boolean>;
}

/**
 * One holder per upload at a time, in this process. A second caller waits
 * for the first to release, up to a timeout; then it gets `undefined` (the
 * server answers 423 Locked).
 */
export class UploadLocks implements UploadLocker {
  readonly #held = new Map<string, Promise<void>>();

  isLocked(id: string): boolean {
    return this.#held.has(id);
  }

  /** Resolves with the release function, or undefined when `timeoutMs` ran out first. */
  async acquire(id: string, timeoutMs: number): Promise<(() => void) | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const held = this.#held.get(id);
      if (held === undefined) {
        let release!: () => void;
        const released = new Promise<void>((resolve) => (release = resolve));
        this.#held.set(id, released);
        let done = false;
        return () => {
          if (done) return;
          done = true;
          this.#held.delete(id);
          release();
        };
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) return undefined;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([held, new Promise<void>((resolve) => (timer = setTimeout(resolve, remaining)))]);
      clearTimeout(timer);
    }
  }
}
