import { isMainThread, workerData } from 'node:worker_threads';

/**
 * Memory the worker threads of one server's pool share: a block the pool
 * draws (one per server) and hands to each worker it starts, in its
 * `workerData` with the worker's index. Named arrays are carved out of it on
 * first use, on whichever worker asks first; every worker of the pool then
 * gets the same bytes. Layout, in 32-bit words: [0] the next free word; [1]
 * the worker indexes the pool has; then `slots` entries of [name hash,
 * offset, length, kind]; then the arrays.
 */
const arenaWords = 256 * 1024;
const slots = 64;
const slotWords = 4;
/** An entry's kind: an array, or a count with a word per worker index (`sharedCount`). */
const arrayKind = 0;
const countKind = 1;
const headerWords = 2 + slots * slotWords;

/** A pool's block of shared memory, for `WorkerSlots` to hand to each worker it starts. */
export function createSharedArena(workerIndexes: number): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(arenaWords * 4);
  const words = new Int32Array(buffer);
  words[0] = headerWords;
  words[1] = workerIndexes;
  return buffer;
}

/** This thread's pool memory and worker index; null on a thread that no MummyX pool started. */
let pool: { arena: Int32Array; index: number } | null | undefined;

function poolOf(): { arena: Int32Array; index: number } | null {
  if (pool !== undefined) return pool;
  const data = isMainThread ? undefined : (workerData as { sharedArena?: unknown; index?: unknown } | null);
  const arena = data?.sharedArena;
  pool =
    arena instanceof SharedArrayBuffer && arena.byteLength === arenaWords * 4 && typeof data?.index === 'number'
      ? { arena: new Int32Array(arena), index: data.index }
      : null;
  return pool;
}

/** FNV-1a of the name, never 0 (0 marks a free slot). */
function hashOf(name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193);
  return hash === 0 ? 1 : hash;
}

/** The pool's array named `name` (set aside by the first caller), or undefined when the block is full. */
function carve(memory: Int32Array, name: string, length: number, kind: number): Int32Array | undefined {
  const hash = hashOf(name);
  for (let slot = 0; slot < slots; slot++) {
    const at = 2 + slot * slotWords;
    const seen = Atomics.compareExchange(memory, at, 0, hash);
    if (seen !== 0 && seen !== hash) continue;
    if (seen === 0) {
      // This thread claimed the slot: it sets the memory aside, then publishes where it is.
      const offset = Atomics.add(memory, 0, length);
      if (offset + length > arenaWords) {
        Atomics.store(memory, at + 1, -1);
        Atomics.notify(memory, at + 1);
        return undefined;
      }
      Atomics.store(memory, at + 2, length);
      Atomics.store(memory, at + 3, kind);
      Atomics.store(memory, at + 1, offset);
      Atomics.notify(memory, at + 1);
      return new Int32Array(memory.buffer, offset * 4, length);
    }
    // Claimed by another thread: wait (briefly) until it has published the offset; a thread
    // terminated in between never will.
    for (let waitedMs = 0; Atomics.load(memory, at + 1) === 0; waitedMs += 10) {
      if (waitedMs >= 1_000) return undefined;
      Atomics.wait(memory, at + 1, 0, 10);
    }
    const offset = Atomics.load(memory, at + 1);
    if (offset < 0) return undefined;
    return new Int32Array(memory.buffer, offset * 4, Atomics.load(memory, at + 2));
  }
  return undefined;
}

/**
 * `length` 32-bit integers, zeroed at first, shared by every worker thread of
 * the server's pool: the first call with a `name`, on any of its workers,
 * sets them aside, and every later call with that name on a worker of the
 * same pool returns a view of the same memory (with the first call's
 * length). Update them with `Atomics`. For limits that hold for a whole
 * threaded server rather than per worker (new sessions per client address).
 * Another server's pool has memory of its own. On a thread no MummyX pool
 * started (the main thread, where an inline server runs every handler), or
 * when the pool's block (1 MiB) is used up, each call returns new memory of
 * the caller's own.
 */
export function sharedInt32Array(name: string, length: number): Int32Array {
  const memory = poolOf()?.arena;
  return (
    (memory === undefined ? undefined : carve(memory, `array:${name}`, length, arrayKind)) ?? new Int32Array(length)
  );
}

/** A count that every worker thread of a server's pool adds to; see `sharedCount()`. */
export interface SharedCount {
  /** Adds `delta` (negative to take away) to this thread's part. */
  add(delta: number): void;
  /** The sum of every thread's part: the count for the whole pool. */
  readonly total: number;
}

/** Every worker's part in its own word: word 0 for workers without an index, then one per index. */
class PoolCount implements SharedCount {
  readonly #words: Int32Array;
  readonly #own: number;

  constructor(words: Int32Array, own: number) {
    this.#words = words;
    this.#own = own;
  }

  add(delta: number): void {
    Atomics.add(this.#words, this.#own, delta);
  }

  get total(): number {
    let sum = 0;
    for (let i = 0; i < this.#words.length; i++) sum += Atomics.load(this.#words, i);
    return sum;
  }
}

const counts = new Map<string, PoolCount>();

/**
 * A count kept for the whole threaded server — sessions open on any of its
 * workers, say — that forgets what an exited worker had added: each worker
 * adds to its own part, which the pool sets back to 0 once the worker's
 * thread has exited (`releaseWorkerParts`). Every call with a `name` on one worker returns the same
 * count. On a thread no MummyX pool started (the main thread, for an inline
 * server), each call returns a new count of the caller's own.
 */
export function sharedCount(name: string): SharedCount {
  const known = counts.get(name);
  if (known !== undefined) return known;
  const current = poolOf();
  let count: PoolCount;
  const words =
    current === null ? undefined : carve(current.arena, `count:${name}`, 1 + Atomics.load(current.arena, 1), countKind);
  if (current === null || words === undefined) {
    count = new PoolCount(new Int32Array(1), 0);
  } else {
    const own = current.index >= 0 && current.index + 1 < words.length ? current.index + 1 : 0;
    count = new PoolCount(words, own);
  }
  if (current !== null) counts.set(name, count);
  return count;
}

/**
 * Called by the pool once the thread of the worker at `index` has exited
 * (nothing can add to its part any more): sets its part of every count to 0.
 */
export function releaseWorkerParts(arena: SharedArrayBuffer, index: number): void {
  const memory = new Int32Array(arena);
  for (let slot = 0; slot < slots; slot++) {
    const at = 2 + slot * slotWords;
    if (Atomics.load(memory, at) === 0) return;
    const offset = Atomics.load(memory, at + 1);
    if (offset <= 0 || Atomics.load(memory, at + 3) !== countKind) continue;
    if (index + 1 < Atomics.load(memory, at + 2)) Atomics.store(memory, offset + 1 + index, 0);
  }
}
