/**
 * The pool's doorbell, in shared memory: workers ring it after writing to
 * their mailbox, and the IO thread awaits it with `Atomics.waitAsync`, so one
 * wake-up of the IO thread collects every response written since the last.
 *
 * Word 0 counts rings; word 1 is non-zero while requests wait for a worker,
 * so a worker leaving a WebSocket event handler rings too; word 2 is 1 while
 * the IO thread sleeps on word 0 and nobody has woken it yet; the words after
 * it are one bit per worker index, set by a worker that wrote to its mailbox,
 * so the IO thread reads only the mailboxes that changed.
 */

/** A doorbell with bits for `workerIndexes` workers. */
export function createDoorbell(workerIndexes: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * (readyWords + Math.ceil(workerIndexes / 32))));
}

export const doorbellWaiting = 1;
const doorbellArmed = 2;
const readyWords = 3;

/** Worker indexes a doorbell has bits for. */
export function doorbellIndexes(doorbell: Int32Array): number {
  return (doorbell.length - readyWords) * 32;
}

/**
 * Called by the IO thread right before it waits on word 0 (with the count it
 * has seen), and with `false` as soon as it wakes: rings while it is awake
 * need not wake it (it reads every ring before it waits again).
 */
export function armDoorbell(doorbell: Int32Array, armed: boolean): void {
  Atomics.store(doorbell, doorbellArmed, armed ? 1 : 0);
}

/**
 * Wakes the IO thread: called by a worker after it wrote to its mailbox
 * (with its index), or to say it can take a request again (without). Only
 * rings while the IO thread is armed call `Atomics.notify`: every notify and
 * wait in the process takes one lock, which 100 busy workers contend for.
 */
export function ringDoorbell(doorbell: Int32Array, index?: number): void {
  markDoorbell(doorbell, index);
  // After the count: if the IO thread arms from now on, its wait sees the new count and returns.
  // Only the IO thread disarms: a ring that disarmed could do so between another worker's count
  // and that worker's look at the flag, and that ring would then wake nobody.
  if (Atomics.load(doorbell, doorbellArmed) === 1) Atomics.notify(doorbell, 0);
}

/**
 * Rings without waking the IO thread: it sees the ring the next time it looks
 * (it also looks on a timer while requests wait behind others), or when a
 * later `ringDoorbell` wakes it.
 */
export function markDoorbell(doorbell: Int32Array, index?: number): void {
  if (index !== undefined && index >= 0) Atomics.or(doorbell, readyWords + (index >> 5), 1 << (index & 31));
  Atomics.add(doorbell, 0, 1);
}

/**
 * Calls `visit` with the index of every worker that rang since the last call,
 * clearing their bits.
 */
export function takeRung(doorbell: Int32Array, visit: (index: number) => void): void {
  for (let word = readyWords; word < doorbell.length; word++) {
    if (Atomics.load(doorbell, word) === 0) continue;
    let bits = Atomics.exchange(doorbell, word, 0);
    const base = (word - readyWords) * 32;
    while (bits !== 0) {
      const bit = 31 - Math.clz32(bits);
      bits &= ~(1 << bit);
      visit(base + bit);
    }
  }
}
