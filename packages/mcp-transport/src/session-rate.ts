/**
 * New sessions per client address in the current minute, counted in memory
 * every worker thread of the server shares (`sharedInt32Array`): a table of
 * words, each the minute (modulo 2 048) and the count of one or more
 * addresses (by a hash of the address), updated in one compare-and-swap so
 * that a new minute and a count never mix. Addresses that share a word are
 * counted together, which only makes the limit stricter for them; with
 * 4 096 words that takes many busy addresses at once.
 */
export class SessionRate {
  readonly #table: Int32Array;
  readonly #perMinute: number;
  readonly #exempt: (remoteAddress: string) => boolean;

  constructor(table: Int32Array, perMinute: number, exempt: (remoteAddress: string) => boolean) {
    this.#table = table;
    this.#perMinute = perMinute;
    this.#exempt = exempt;
  }

  /**
   * Counts a new session for `remoteAddress`: 0 when it may open it, or the
   * seconds until the minute ends when it has opened `perMinute` already.
   */
  take(remoteAddress: string, now = Date.now()): number {
    if (this.#exempt(remoteAddress)) return 0;
    const table = this.#table;
    const minute = Math.floor(now / 60_000) % minutesKept;
    const at = hashOf(remoteAddress) % table.length;
    for (;;) {
      const seen = Atomics.load(table, at);
      const count = seen >>> countBits === minute ? Math.min((seen & maxCount) + 1, maxCount) : 1;
      if (Atomics.compareExchange(table, at, seen, (minute << countBits) | count) !== seen) continue;
      return count <= this.#perMinute ? 0 : 60 - Math.floor((now % 60_000) / 1_000);
    }
  }
}

const countBits = 20;
const maxCount = (1 << countBits) - 1;
/** Minutes told apart: 2 047 << 20 is the largest minute that keeps the word positive. */
const minutesKept = 2_048;

/** 127.0.0.0/8, ::1 and their IPv4-mapped forms: clients on this machine. */
export function isLoopback(remoteAddress: string): boolean {
  const address = remoteAddress.startsWith('::ffff:') ? remoteAddress.slice(7) : remoteAddress;
  return address === '::1' || address.startsWith('127.');
}

/** FNV-1a, as an unsigned 32-bit number. */
function hashOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}
