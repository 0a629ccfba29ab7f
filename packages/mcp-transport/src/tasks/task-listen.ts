import type { ChangeEvent, ChannelEventBus } from '../event-bus.js';
import { serverInfoMetaKey, subscriptionIdMetaKey, type RequestId } from '../mcp-types.js';
import { detailedTask, type TaskRecord } from './task.js';
import type { TaskStore } from './task-store.js';

/** What a `subscriptions/listen` request asks to hear (SEP-2575, plus the Tasks extension's `taskIds`). */
export interface ListenFilter {
  toolsListChanged?: boolean;
  promptsListChanged?: boolean;
  resourcesListChanged?: boolean;
  resourceSubscriptions?: string[];
  taskIds: string[];
}

/** The server capabilities that decide which change notifications a listen stream may carry. */
interface ListCapabilities {
  tools?: { listChanged?: boolean };
  prompts?: { listChanged?: boolean };
  resources?: { listChanged?: boolean; subscribe?: boolean };
}

export interface TaskListenStream {
  /** The stream's id (the listen request's id), stamped on every notification as `subscriptionId`. */
  readonly subscriptionId: RequestId;
  readonly filter: ListenFilter;
  /** The task ids the stream carries: those the caller may see. */
  readonly taskIds: readonly string[];
  readonly capabilities: ListCapabilities;
  readonly serverInfo: Record<string, unknown> | undefined;
  readonly keepAliveMs: number;
  /** Aborts when the client has gone. */
  readonly signal: AbortSignal;
}

/**
 * The `subscriptions/listen` streams of one thread that asked for
 * `taskIds`: the SDK's listen router knows no tasks, so these are served
 * here, with the same rules for the rest of the filter (a change kind is
 * carried only when the server declares it and the client asked for it;
 * `subscriptionId` on every notification; a final result when the server
 * ends the stream). Each task's current state is sent right after the
 * acknowledgement, then every change of it as `notifications/tasks` (a full
 * `DetailedTask`), until the client closes the stream.
 */
export class TaskListenStreams {
  readonly #store: TaskStore;
  readonly #bus: ChannelEventBus;
  readonly #open = new Set<(graceful: boolean) => void>();

  constructor(store: TaskStore, bus: ChannelEventBus) {
    this.#store = store;
    this.#bus = bus;
  }

  get size(): number {
    return this.#open.size;
  }

  /** The event-stream response of one listen request. */
  open(stream: TaskListenStream): Response {
    const honored = honoredFilter(stream.filter, stream.capabilities, stream.taskIds);
    const encoder = new TextEncoder();
    const unsubscribes: (() => void)[] = [];
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    let keepAlive: NodeJS.Timeout | undefined;
    let closed = false;
    const write = (frame: string): void => {
      if (closed) return;
      try {
        controller.enqueue(encoder.encode(frame));
      } catch {
        teardown(false);
      }
    };
    const notify = (method: string, params: Record<string, unknown>): void => {
      const stamped = {
        ...params,
        _meta: { ...(params['_meta'] as object), [subscriptionIdMetaKey]: stream.subscriptionId },
      };
      write(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', method, params: stamped })}\n\n`);
    };
    const teardown = (graceful: boolean): void => {
      if (closed) return;
      if (graceful) {
        const meta = {
          [subscriptionIdMetaKey]: stream.subscriptionId,
          ...(stream.serverInfo === undefined ? {} : { [serverInfoMetaKey]: stream.serverInfo }),
        };
        write(
          `event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: stream.subscriptionId, result: { resultType: 'complete', _meta: meta } })}\n\n`,
        );
      }
      closed = true;
      for (const unsubscribe of unsubscribes.splice(0)) unsubscribe();
      if (keepAlive !== undefined) clearInterval(keepAlive);
      stream.signal.removeEventListener('abort', onAbort);
      this.#open.delete(teardown);
      try {
        controller.close();
      } catch {
        // already closed by the reader
      }
    };
    const onAbort = (): void => teardown(false);
    const body = new ReadableStream<Uint8Array>({
      start: (streamController) => {
        controller = streamController;
        notify('notifications/subscriptions/acknowledged', { notifications: honored });
        this.#open.add(teardown);
        unsubscribes.push(
          this.#bus.subscribe((event) => {
            const notification = accepted(honored, event);
            if (notification !== undefined) notify(notification.method, notification.params);
          }),
        );
        for (const taskId of honored.taskIds ?? []) {
          let last: TaskRecord | undefined;
          const stop = this.#store.watch(taskId, (task) => {
            if (task === undefined) return;
            // A change that only moved the poll budget or repeats what was sent is not news.
            if (last !== undefined && last.lastUpdatedAtMs === task.lastUpdatedAtMs && last.status === task.status)
              return;
            last = task;
            notify('notifications/tasks', detailedTask(task));
          });
          unsubscribes.push(stop);
        }
        if (stream.keepAliveMs > 0) {
          keepAlive = setInterval(() => write(': keepalive\n\n'), stream.keepAliveMs);
          keepAlive.unref();
        }
      },
      cancel: () => teardown(false),
    });
    if (stream.signal.aborted) teardown(false);
    else stream.signal.addEventListener('abort', onAbort, { once: true });
    return new Response(body, {
      status: 200,
      headers: {
        'Content-Type': 'text/event-stream',
        'Cache-Control': 'no-cache, no-transform',
        Connection: 'keep-alive',
        'X-Accel-Buffering': 'no',
      },
    });
  }

  /** Ends every stream with its final result. */
  closeAll(): void {
    for (const teardown of [...this.#open]) teardown(true);
  }
}

/** The part of `filter` the stream carries: what the client asked for and the server can deliver. */
function honoredFilter(
  filter: ListenFilter,
  capabilities: ListCapabilities,
  taskIds: readonly string[],
): Partial<ListenFilter> {
  const honored: Partial<ListenFilter> = {};
  if (filter.toolsListChanged === true && capabilities.tools?.listChanged === true) honored.toolsListChanged = true;
  if (filter.promptsListChanged === true && capabilities.prompts?.listChanged === true) {
    honored.promptsListChanged = true;
  }
  if (filter.resourcesListChanged === true && capabilities.resources?.listChanged === true) {
    honored.resourcesListChanged = true;
  }
  const uris = filter.resourceSubscriptions;
  if (uris !== undefined && uris.length > 0 && capabilities.resources?.subscribe === true) {
    honored.resourceSubscriptions = [...uris];
  }
  honored.taskIds = [...taskIds];
  return honored;
}

/** The notification a change event makes on a stream with this filter, if the stream carries it. */
function accepted(
  filter: Partial<ListenFilter>,
  event: ChangeEvent,
): { method: string; params: Record<string, unknown> } | undefined {
  const params = event.params ?? {};
  switch (event.kind) {
    case 'tools_list_changed':
      return filter.toolsListChanged === true ? { method: 'notifications/tools/list_changed', params } : undefined;
    case 'prompts_list_changed':
      return filter.promptsListChanged === true ? { method: 'notifications/prompts/list_changed', params } : undefined;
    case 'resources_list_changed':
      return filter.resourcesListChanged === true
        ? { method: 'notifications/resources/list_changed', params }
        : undefined;
    case 'resource_updated':
      return filter.resourceSubscriptions?.includes(event.uri) === true
        ? { method: 'notifications/resources/updated', params: { ...params, uri: event.uri } }
        : undefined;
  }
}
