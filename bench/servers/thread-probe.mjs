// Where a threaded benchmark server spends its CPU and how often its threads talk, read from the
// outside: imported by an app module, it counts the messages the IO thread and its workers post
// to each other (Worker#postMessage one way, the worker's 'message' events the other; the
// shared-memory mailbox is not counted), and learns each worker's thread id, so that the
// harness can read every thread's CPU from /proc/PID/task/TID/stat. `probeRoute(router)` adds an
// inline GET /bench/probe that answers { toWorkers, fromWorkers, kinds, workerTids } (`kinds`: the
// messages by core's message type, each way).
import { readlinkSync } from 'node:fs';
import { BroadcastChannel, isMainThread, Worker } from 'node:worker_threads';

const channelName = 'mummyx-bench-thread-probe';
const counts = { toWorkers: 0, fromWorkers: 0 };
/** Messages by their first element (core's message type), each way. */
const kinds = { toWorkers: {}, fromWorkers: {} };
const tally = (table, message) => {
  const kind = Array.isArray(message) ? String(message[0]) : typeof message;
  table[kind] = (table[kind] ?? 0) + 1;
};
const workerTids = new Set();

/** This thread's id in the kernel (a worker's differs from the process id). */
function kernelThreadId() {
  try {
    return Number(readlinkSync('/proc/thread-self').split('/').at(-1));
  } catch {
    return undefined;
  }
}

if (isMainThread) {
  const post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function countedPost(...args) {
    counts.toWorkers++;
    tally(kinds.toWorkers, args[0]);
    return post.apply(this, args);
  };
  const emit = Worker.prototype.emit;
  Worker.prototype.emit = function countedEmit(event, ...args) {
    if (event === 'message') {
      counts.fromWorkers++;
      tally(kinds.fromWorkers, args[0]);
    }
    return emit.call(this, event, ...args);
  };
  const channel = new BroadcastChannel(channelName);
  channel.onmessage = (event) => workerTids.add(event.data);
  channel.unref();
} else {
  const channel = new BroadcastChannel(channelName);
  const tid = kernelThreadId();
  if (tid !== undefined) channel.postMessage(tid);
  channel.close();
}

export function probeRoute(router) {
  router.get(
    '/bench/probe',
    (request) => {
      request.respond(
        200,
        { 'Content-Type': 'application/json' },
        JSON.stringify({ ...counts, kinds, workerTids: [...workerTids] }),
      );
    },
    { inline: true },
  );
}
