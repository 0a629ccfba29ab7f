/**
 * A worker's messages to the IO thread, on its parentPort: one ordered
 * channel, so a stream's head always arrives before its first event and
 * before its request is marked settled. Messages are gathered and go as one
 * (see Outbox): each message wakes the IO thread, and on a shared core each
 * wake-up also takes the CPU from this thread, so a request answered with a
 * stream of one event would otherwise cost five (head, event, end, settled,
 * and the IO thread's word that the stream closed). Imported by the worker
 * entry only.
 *
 * When they go: once a microtask turn passes without a new message (at most
 * `maxHops` turns after the first); a stream's head waits for its first event,
 * and a response's last message (a stream's end, a session request's
 * response) for its handler to settle, so that they travel together (again at
 * most `maxHops` turns); and everything goes at once before the worker waits
 * on its mailbox (`flushPosts`), where its event loop may not turn for a
 * while. What a handler writes just before it blocks its thread (a long
 * synchronous stretch starting within those few microtask turns) therefore
 * goes when the stretch ends, as a WebSocket send written before one always
 * has; anything written before an await on I/O or a timer goes at once.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { logLevelRank, type LogLevel } from '../log/log-handler.js';
import { MessageType, type WorkerMessage, type WsSendMessage } from './message-codec.js';
import { Outbox } from './outbox.js';
import type { WorkerConfig } from './worker-config.js';

const parent = parentPort!;
const minLogRank = logLevelRank[(workerData as WorkerConfig).logLevel];

/** Messages not posted yet, in order. */
const outbox = new Outbox<WorkerMessage>();
/** The buffers those messages transfer. */
let transfers: ArrayBuffer[] = [];
/** Requests whose handler opened a stream and has not settled. */
const streaming = new Set<number>();
/** Requests whose message in the outbox waits for the next one: a stream's head its first event, a last message the settlement. */
const holding = new Set<number>();
/**
 * Microtask turns a response's last message may wait for its handler to
 * settle (or the outbox for a handler still posting): well above the turns
 * between an MCP transport's last write and its handler's end.
 */
export const maxHops = 32;
let hops = 0;
let checkQueued = false;
let postedSinceCheck = false;

/** Posts what is gathered, as one message. */
export function flushPosts(): void {
  holding.clear();
  hops = 0;
  postedSinceCheck = false;
  const message = outbox.take();
  if (message === undefined) return;
  const transfer = transfers;
  transfers = [];
  parent.postMessage(message, transfer);
}

/**
 * The outbox's microtask: waits another turn while a message waits for the
 * next one of its request, or the handler is still posting; else posts.
 */
function check(): void {
  checkQueued = false;
  if ((holding.size > 0 || postedSinceCheck) && hops < maxHops) {
    hops++;
    postedSinceCheck = false;
    checkQueued = true;
    queueMicrotask(check);
    return;
  }
  flushPosts();
}

/** A message to the IO thread: it goes with the others of this job (see above). */
export function post(message: WorkerMessage, transfer: ArrayBuffer[] = []): void {
  let settles = false;
  switch (message[0]) {
    case MessageType.StreamOpen:
      streaming.add(message[1]);
      holding.add(message[1]);
      break;
    case MessageType.StreamWrite:
      holding.delete(message[1]);
      break;
    case MessageType.StreamEnd:
      // The end of a stream whose handler is still running waits for the settlement.
      if (!streaming.has(message[1])) holding.delete(message[1]);
      else holding.add(message[1]);
      break;
    case MessageType.SessionResponse:
      // A session request's handler always settles after it responds.
      holding.add(message[1]);
      break;
    case MessageType.Settled:
      streaming.delete(message[1]);
      settles = holding.delete(message[1]);
      break;
  }
  outbox.push(message);
  for (const buffer of transfer) if (!transfers.includes(buffer)) transfers.push(buffer);
  if (settles && holding.size === 0) {
    flushPosts();
    return;
  }
  if (checkQueued) {
    postedSinceCheck = true;
    return;
  }
  checkQueued = true;
  queueMicrotask(check);
}

/** A WebSocket send: it goes with the other messages of this job. */
export function queueSend(message: WsSendMessage): void {
  post(message);
}

/** Logs through the server's log handler, on the IO thread, when `level` is enabled. */
export function log(level: LogLevel, message: string): void {
  if (logLevelRank[level] >= minLogRank) post([MessageType.Log, level, message]);
}
