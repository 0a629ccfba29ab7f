// What the web page shows live: every MCP session opening and closing, every tool call, every
// broadcast, chat line and finished upload is published as one server-sent event on the
// `activity` topic. Activity events pass through the IO thread's ActivityLog first (from a
// worker, over a BroadcastChannel), so a page that connects later is told what is open and
// running; the log publishes them on to the page's EventSource.
import { BroadcastChannel, isMainThread } from 'node:worker_threads';
import { publish } from '@mummyx/core';
import { activityChannelName, type ActivityLog, type ActivityMessage } from './activity-log.js';

/** The pub/sub topic the page's `/events` stream subscribes to. */
export const activityTopic = 'activity';

/** The topic of the page's WebSocket chat room. */
export const chatTopic = 'chat';

/** The event names on the activity stream, and what each carries (as JSON in `data`). */
export interface ActivityEvents {
  session: { id: string; transport: string; state: 'open' | 'closed' };
  tool: {
    session: string;
    tool: string;
    state: 'started' | 'finished' | 'failed';
    elapsedMs?: number;
    thread: string;
    /** The MCP task this call runs for (Tasks extension), when it runs as one. */
    task?: string;
  };
  /** An MCP task changed: its status (or `expired`, once it is gone) and latest status message. */
  task: { id: string; tool: string; status: string; statusMessage?: string };
  broadcast: { session: string; message: string; at: string };
  chat: { from: number; text: string };
  upload: { id: string; bytes: number; name: string };
}

/** Sends the pub/sub message, or drops it when there is no server to carry it. */
export type Publisher = (topic: string, data: unknown) => void;

/** core's `publish()`; where it cannot publish, the event is dropped rather than failing a tool call. */
export function publishQuietly(topic: string, data: unknown): void {
  try {
    publish(topic, data);
  } catch {
    // No server in this thread to publish through (a stand-alone McpServer): nobody is listening.
  }
}

/** The IO thread's log, once the HTTP demo has set it (see app.ts). */
let activityLog: ActivityLog | undefined;
/** A worker's end of the activity channel, opened on first use. */
let activityChannel: BroadcastChannel | undefined;

/** Makes `log` record every activity event of this process; call it on the IO thread. */
export function setActivityLog(log: ActivityLog): void {
  activityLog = log;
}

function isActivityMessage(data: unknown): data is ActivityMessage {
  const message = data as Partial<ActivityMessage> | null;
  return typeof message?.event === 'string' && typeof message.data === 'string';
}

/**
 * Publishes from any thread, for the places this demo runs with and without an HTTP server.
 * Activity events go to the IO thread's ActivityLog (directly on the IO thread, over the
 * activity channel from a worker), which publishes them; anything else, and activity where there
 * is no log (`--stdio`), goes straight to core's `publish()`, and reaches nobody when no server
 * listens.
 */
export const corePublisher: Publisher = (topic, data) => {
  if (topic !== activityTopic || !isActivityMessage(data)) return publishQuietly(topic, data);
  if (isMainThread) {
    if (activityLog !== undefined) activityLog.record(data);
    else publishQuietly(topic, data);
    return;
  }
  if (activityChannel === undefined) {
    activityChannel = new BroadcastChannel(activityChannelName);
    activityChannel.unref();
  }
  activityChannel.postMessage({ event: data.event, data: data.data });
};

/** This node's name in a cluster (`mummyx-demo --redis`), set by the CLI for every thread; else undefined. */
export const nodeName = process.env['MUMMYX_DEMO_NODE'] || undefined;

/** Publishes one activity event (tagged with the node it happened on, in a cluster). */
export function publishActivity<E extends keyof ActivityEvents>(
  publisher: Publisher,
  event: E,
  data: ActivityEvents[E],
): void {
  publisher(activityTopic, {
    event,
    data: JSON.stringify(nodeName === undefined ? data : { ...data, node: nodeName }),
  });
}
