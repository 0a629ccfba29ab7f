/**
 * A worker's messages to the IO thread, on its parentPort: one ordered
 * channel, so a stream's head always arrives before its first event and
 * before its request is marked settled. WebSocket sends are gathered over a
 * microtask checkpoint and go as one message (see Outbox), before any other
 * message. Imported by the worker entry only.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { logLevelRank, type LogLevel } from '../log/log-handler.js';
import { MessageType, type WorkerMessage, type WsSendMessage } from './message-codec.js';
import { Outbox } from './outbox.js';
import type { WorkerConfig } from './worker-config.js';

const parent = parentPort!;
const minLogRank = logLevelRank[(workerData as WorkerConfig).logLevel];

/** WebSocket sends of this microtask checkpoint, to go to the IO thread as one message. */
const sends = new Outbox<WsSendMessage>();

function flushSends(): void {
  const message = sends.take();
  if (message !== undefined) parent.postMessage(message);
}

/** A WebSocket send: it goes with the others of this microtask checkpoint. */
export function queueSend(message: WsSendMessage): void {
  if (sends.push(message)) queueMicrotask(flushSends);
}

/** Every other message to the IO thread: the sends queued before it go first. */
export function post(message: WorkerMessage, transfer: ArrayBuffer[] = []): void {
  flushSends();
  parent.postMessage(message, transfer);
}

/** Logs through the server's log handler, on the IO thread, when `level` is enabled. */
export function log(level: LogLevel, message: string): void {
  if (logLevelRank[level] >= minLogRank) post([MessageType.Log, level, message]);
}
