import { isMainThread, parentPort } from 'node:worker_threads';
import { MxError } from '../errors.js';

interface Publisher {
  publish(topic: string, data: unknown): number;
}

/** Servers listening in this process (main thread), for `publish()` called on the main thread. */
export const liveServers = new Set<Publisher>();

/** Set by a MummyX worker once it serves requests. */
let workerPublish: ((topic: string, data: unknown) => void) | undefined;

export function setWorkerPublish(fn: (topic: string, data: unknown) => void): void {
  workerPublish = fn;
}

/**
 * Publishes `data` to `topic` from any thread: on a worker it is one message
 * to the IO thread, which fans it out to every subscriber; on the main thread
 * it goes to every listening server in this process. Data crosses threads by
 * structured clone: strings, plain objects (`{ event, id, data, retry }`).
 */
export function publish(topic: string, data: unknown): void {
  if (isMainThread) {
    for (const server of liveServers) server.publish(topic, data);
    return;
  }
  if (workerPublish === undefined || parentPort === null) throw new MxError('MX_ERR_NOT_IN_WORKER', 'publish()');
  workerPublish(topic, data);
}
