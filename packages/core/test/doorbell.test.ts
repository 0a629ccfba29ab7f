// The pool's doorbell (src/threads/doorbell.ts), rung and read in this one thread: which workers
// rang, and the count the IO thread waits on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createDoorbell, doorbellIndexes, markDoorbell, ringDoorbell, takeRung } from '../dist/threads/doorbell.js';

function rung(doorbell: Int32Array): number[] {
  const indexes: number[] = [];
  takeRung(doorbell, (index) => indexes.push(index));
  return indexes;
}

test('has a bit for at least as many workers as asked, in whole words', () => {
  assert.equal(doorbellIndexes(createDoorbell(1)), 32);
  assert.equal(doorbellIndexes(createDoorbell(32)), 32);
  assert.equal(doorbellIndexes(createDoorbell(33)), 64);
});

test('each ring counts; takeRung visits every worker that rang once, then forgets them', () => {
  const doorbell = createDoorbell(100);
  ringDoorbell(doorbell, 3);
  ringDoorbell(doorbell, 70);
  markDoorbell(doorbell, 3);
  markDoorbell(doorbell, 31);
  markDoorbell(doorbell, 32);
  assert.equal(Atomics.load(doorbell, 0), 5);
  assert.deepEqual(
    rung(doorbell).sort((a, b) => a - b),
    [3, 31, 32, 70],
  );
  assert.deepEqual(rung(doorbell), []);
});

test('a ring without a worker index, or with -1, only counts', () => {
  const doorbell = createDoorbell(8);
  ringDoorbell(doorbell);
  markDoorbell(doorbell, -1);
  assert.equal(Atomics.load(doorbell, 0), 2);
  assert.deepEqual(rung(doorbell), []);
});
