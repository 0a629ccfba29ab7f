// What a page that connects now needs to catch up: the MCP sessions open at this moment, the tool
// calls still running, and the last activity events. Sessions and tool calls live on worker
// threads, the page's event stream on the IO thread, so every activity event passes through one
// ActivityLog on the IO thread: workers hand theirs over a BroadcastChannel, the log records each
// and then publishes it to the page's topic. A page's stream gets the snapshot and subscribes in
// one synchronous step, so it sees every event exactly once: in the snapshot or live.
import { BroadcastChannel } from 'node:worker_threads';
import type { ActivityEvents } from './activity.js';

/** One activity event as published on the page's topic: an SSE event name and its JSON data. */
export interface ActivityMessage {
  event: string;
  data: string;
}

/** An activity event with the time the IO thread recorded it. */
export interface ActivityRecord extends ActivityMessage {
  at: string;
}

/** A session open now. */
export type OpenSession = ActivityEvents['session'] & { at: string };

/** A tool call that has started and not yet finished. */
export type RunningToolCall = Omit<ActivityEvents['tool'], 'state' | 'elapsedMs'> & { at: string };

/** An MCP task as last heard of. */
export type TaskState = ActivityEvents['task'] & { at: string };

/** The state sent first on every new `/events` stream, as the data of its `state` event. */
export interface ActivitySnapshot {
  sessions: OpenSession[];
  running: RunningToolCall[];
  /** MCP tasks (Tasks extension) not yet expired, oldest first, each as last heard of. */
  tasks: TaskState[];
  /** The last events, oldest first (chat lines excepted: the chat has its own socket). */
  recent: ActivityRecord[];
}

export interface ActivityLogLimits {
  /** Events kept for `recent`. Default 100. */
  maxRecentEvents?: number;
  /** Open sessions remembered; past this the oldest is forgotten. Default 10 000. */
  maxSessions?: number;
  /** Running tool calls remembered; past this the oldest is forgotten. Default 1 000. */
  maxRunningCalls?: number;
  /** MCP tasks remembered; past this the oldest is forgotten. Default 200. */
  maxTasks?: number;
}

/** The channel workers post their activity events on; the IO thread's ActivityLog listens. */
export const activityChannelName = 'mummyx-demo:activity';

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Removes the oldest entries of `map` until it holds at most `max`. */
function trim<K, V>(map: Map<K, V>, max: number): void {
  for (const key of map.keys()) {
    if (map.size <= max) return;
    map.delete(key);
  }
}

export class ActivityLog {
  readonly #publish: (message: ActivityMessage) => void;
  readonly #maxRecentEvents: number;
  readonly #maxSessions: number;
  readonly #maxRunningCalls: number;
  readonly #maxTasks: number;
  readonly #tasks = new Map<string, TaskState>();
  readonly #sessions = new Map<string, OpenSession>();
  /** Running calls by a counter; a finish ends the oldest call of the same session and tool. */
  readonly #running = new Map<number, RunningToolCall>();
  #nextCall = 0;
  #recent: ActivityRecord[] = [];
  #channel: BroadcastChannel | undefined;

  /** `publish` sends a recorded event on to the page's topic. */
  constructor(publish: (message: ActivityMessage) => void, limits: ActivityLogLimits = {}) {
    this.#publish = publish;
    this.#maxRecentEvents = limits.maxRecentEvents ?? 100;
    this.#maxSessions = limits.maxSessions ?? 10_000;
    this.#maxRunningCalls = limits.maxRunningCalls ?? 1_000;
    this.#maxTasks = limits.maxTasks ?? 200;
  }

  /** Records one event, then publishes it. */
  record(message: ActivityMessage, now: Date = new Date()): void {
    const at = now.toISOString();
    const data = parseObject(message.data);
    if (message.event === 'session' && data !== undefined) this.#recordSession(data, at);
    if (message.event === 'tool' && data !== undefined) this.#recordTool(data, at);
    if (message.event === 'task' && data !== undefined) this.#recordTask(data, at);
    if (message.event !== 'chat') {
      this.#recent.push({ event: message.event, data: message.data, at });
      if (this.#recent.length > this.#maxRecentEvents) this.#recent = this.#recent.slice(-this.#maxRecentEvents);
    }
    this.#publish({ event: message.event, data: message.data });
  }

  snapshot(): ActivitySnapshot {
    return {
      sessions: [...this.#sessions.values()],
      running: [...this.#running.values()],
      tasks: [...this.#tasks.values()],
      recent: [...this.#recent],
    };
  }

  /** Records what worker threads post on the activity channel, until `close()`. */
  listen(): void {
    if (this.#channel !== undefined) return;
    const channel = new BroadcastChannel(activityChannelName);
    channel.onmessage = (event) => {
      const message = (event as { data: unknown }).data as Partial<ActivityMessage> | null;
      if (typeof message?.event === 'string' && typeof message.data === 'string') {
        this.record({ event: message.event, data: message.data });
      }
    };
    // The server keeps the process alive, not this channel.
    channel.unref();
    this.#channel = channel;
  }

  close(): void {
    this.#channel?.close();
    this.#channel = undefined;
  }

  #recordSession(data: Record<string, unknown>, at: string): void {
    const id = String(data['id']);
    if (data['state'] === 'open') {
      this.#sessions.set(id, { id, transport: String(data['transport']), state: 'open', at });
      trim(this.#sessions, this.#maxSessions);
      return;
    }
    this.#sessions.delete(id);
    for (const [key, call] of this.#running) if (call.session === id) this.#running.delete(key);
  }

  #recordTask(data: Record<string, unknown>, at: string): void {
    const id = String(data['id']);
    if (data['status'] === 'expired') {
      this.#tasks.delete(id);
      return;
    }
    // A known task keeps its place: the list stays in the order the tasks were first heard of.
    const known = this.#tasks.get(id);
    const statusMessage = typeof data['statusMessage'] === 'string' ? data['statusMessage'] : undefined;
    this.#tasks.set(id, {
      id,
      // A change without a tool name keeps the one heard before.
      tool: typeof data['tool'] === 'string' && data['tool'] !== '' ? data['tool'] : (known?.tool ?? ''),
      status: String(data['status']),
      ...(statusMessage === undefined ? {} : { statusMessage }),
      at,
    });
    trim(this.#tasks, this.#maxTasks);
  }

  #recordTool(data: Record<string, unknown>, at: string): void {
    const call = { session: String(data['session']), tool: String(data['tool']), thread: String(data['thread']) };
    if (data['state'] === 'started') {
      this.#running.set(this.#nextCall++, { ...call, at });
      trim(this.#running, this.#maxRunningCalls);
      return;
    }
    for (const [key, running] of this.#running) {
      if (running.session === call.session && running.tool === call.tool) {
        this.#running.delete(key);
        return;
      }
    }
  }
}
