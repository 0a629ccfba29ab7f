// What the web page shows live: every MCP session opening and closing, every tool call, every
// broadcast, chat line and finished upload is published as one server-sent event on the
// `activity` topic. `publish()` works from any thread, so a tool running on a worker reaches the
// page's EventSource, which the IO thread holds.
import { publish } from '@mummyx/core';

/** The pub/sub topic the page's `/events` stream subscribes to. */
export const activityTopic = 'activity';

/** The topic of the page's WebSocket chat room. */
export const chatTopic = 'chat';

/** The event names on the activity stream, and what each carries (as JSON in `data`). */
export interface ActivityEvents {
  session: { id: string; transport: string; state: 'open' | 'closed' };
  tool: { session: string; tool: string; state: 'started' | 'finished' | 'failed'; elapsedMs?: number; thread: string };
  broadcast: { session: string; message: string; at: string };
  chat: { from: number; text: string };
  upload: { id: string; bytes: number; name: string };
}

/** Sends the pub/sub message, or drops it when there is no server to carry it. */
export type Publisher = (topic: string, data: unknown) => void;

/**
 * core's `publish()`, made safe for the places this demo runs without an HTTP server (`--stdio`):
 * on the main thread with no listening server it reaches nobody; anywhere it cannot publish, the
 * event is dropped rather than failing the tool call.
 */
export const corePublisher: Publisher = (topic, data) => {
  try {
    publish(topic, data);
  } catch {
    // No server in this thread to publish through (a stand-alone McpServer): nobody is listening.
  }
};

/** Publishes one activity event. */
export function publishActivity<E extends keyof ActivityEvents>(
  publisher: Publisher,
  event: E,
  data: ActivityEvents[E],
): void {
  publisher(activityTopic, { event, data: JSON.stringify(data) });
}
