import { MessageType } from './message-codec.js';

/**
 * Messages for one receiver, gathered and sent as one: a burst of WebSocket
 * traffic costs one postMessage instead of one per WebSocket message. Both
 * ends use it, each flushing at its own moment:
 *
 * - A worker flushes its sends at the end of the current job's microtasks
 *   (`queueMicrotask`), and before any other message it posts: its event
 *   loop may not turn for a while (it waits on its mailbox between
 *   requests), so a flush left for the next turn could wait behind requests.
 * - The IO thread flushes a worker's events at the end of its event-loop turn
 *   (`setImmediate`), after every socket that was ready has been read: the
 *   messages of many connections owned by one worker then go as one.
 */
export class Outbox<Message> {
  #messages: Message[] = [];

  /** Adds a message; true when it is the first since the outbox was last taken (schedule a flush then). */
  push(message: Message): boolean {
    return this.#messages.push(message) === 1;
  }

  /** What was gathered, as one message (`[MessageType.Batch, messages]` for several), emptying the outbox. */
  take(): Message | [MessageType.Batch, Message[]] | undefined {
    const messages = this.#messages;
    if (messages.length === 0) return undefined;
    this.#messages = [];
    return messages.length === 1 ? messages[0] : [MessageType.Batch, messages];
  }
}
