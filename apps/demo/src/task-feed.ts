// What the page's Tasks panel shows: every MCP task (Tasks extension) of this process as it
// changes. A task's tool runs on a worker, and its status changes wherever the request that
// changes it lands (a cancel on another worker, an expiry on the IO thread); the mount's task store
// is the one place that sees all of them. The IO thread learns a task's id from the `tool` activity
// event of its run, then follows the task in the store until it ends, and publishes each change
// as a `task` activity event.
import type { TaskRecord, TaskStore } from '@mummyx/mcp-transport';
import type { ActivityEvents } from './activity.js';

/** The statuses after which a task no longer changes. */
const finalStatuses = new Set(['completed', 'failed', 'cancelled']);

/** Longest status message shown: a tool's progress message may be long. */
const maxStatusMessageLength = 200;

export class TaskFeed {
  readonly #store: () => TaskStore | undefined;
  readonly #publish: (task: ActivityEvents['task']) => void;
  readonly #maxFollowed: number;
  /** The tasks followed now, oldest first: the function that stops following each. */
  readonly #followed = new Map<string, () => void>();

  /**
   * `store` is the mount's task store (read when a task is first seen: the mount is made after
   * the feed); `publish` gets every change; at most `maxFollowed` tasks are followed at once, past
   * it the oldest is let go.
   */
  constructor(
    store: () => TaskStore | undefined,
    publish: (task: ActivityEvents['task']) => void,
    maxFollowed = 1_000,
  ) {
    this.#store = store;
    this.#publish = publish;
    this.#maxFollowed = maxFollowed;
  }

  /** Follows `taskId` in the store until it ends or expires; a task already followed is left as it is. */
  follow(taskId: string): void {
    const store = this.#store();
    if (store === undefined || this.#followed.has(taskId)) return;
    let shown = '';
    let ended = false;
    const stop = store.watch(taskId, (task: TaskRecord | undefined) => {
      if (ended) return;
      if (task === undefined) {
        this.#publish({ id: taskId, tool: '', status: 'expired' });
        this.#end(taskId);
        return;
      }
      const statusMessage = task.statusMessage?.slice(0, maxStatusMessageLength);
      const key = `${task.status}\n${statusMessage ?? ''}`;
      if (key === shown) return;
      shown = key;
      const tool = task.call.params['name'];
      this.#publish({
        id: taskId,
        tool: typeof tool === 'string' ? tool : '',
        status: task.status,
        ...(statusMessage === undefined ? {} : { statusMessage }),
      });
      if (finalStatuses.has(task.status)) this.#end(taskId);
    });
    this.#followed.set(taskId, () => {
      ended = true;
      stop();
    });
    for (const oldest of this.#followed.keys()) {
      if (this.#followed.size <= this.#maxFollowed) break;
      this.#end(oldest);
    }
  }

  #end(taskId: string): void {
    const stop = this.#followed.get(taskId);
    this.#followed.delete(taskId);
    stop?.();
  }
}
