import { MessageType } from './message-codec.js';

/**
 * Messages for one receiver, gathered and sent as one: a burst of WebSocket
 * traffic, or a stream's head, event and end, costs one postMessage instead
 * of one each. Both ends use it, each flushing at its own moment:
 *
 * - A worker flushes everything it posts at the end of the current job's
 *   microtasks (a response's last message waits for its handler to settle),
 *   and before it waits on its mailbox: its event loop may not turn for a
 *   while then, so a flush left for the next turn could wait behind requests
 *   (see worker-messages.ts).
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
