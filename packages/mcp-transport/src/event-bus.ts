import { BroadcastChannel } from 'node:worker_threads';

/**
 * A change to announce to clients: the SDK 2.x `ServerEvent` shape
 * (structured-clone safe, so it crosses threads as it is).
 */
export type ChangeEvent = (
  | { kind: 'tools_list_changed' }
  | { kind: 'prompts_list_changed' }
  | { kind: 'resources_list_changed' }
  | { kind: 'resource_updated'; uri: string }
) & { params?: { [key: string]: unknown } };

type Listener = (event: ChangeEvent) => void;

/**
 * The name of the `BroadcastChannel` that carries the change events of the
 * mount at `path` between the threads of a process. Bridging it between
 * processes (`attachRedis(server, { channels: [mcpEventChannelName('/mcp')] })`
 * of `@mummyx/redis`) makes `mount.notify` reach every node.
 */
export function mcpEventChannelName(path: string): string {
  return `mummyx:mcp-transport:events:${path}`;
}

/** Most listeners one thread's bus holds (one per open 2026 `subscriptions/listen` stream, plus the mount's own). */
const maxListeners = 100_000;

/**
 * A mount's change events on every thread of the process: an SDK 2.x
 * `ServerEventBus` over a `BroadcastChannel` named after the mount path.
 * `publish` delivers to this thread's listeners at once and posts the event
 * once to every other thread, whose bus delivers it to its listeners. The
 * SDK's listen router subscribes here (ack, filtering and `subscriptionId`
 * are its business); so does the mount, for its 2025-era sessions.
 *
 * Mounts with the same path in one process share their events.
 */
export class ChannelEventBus {
  readonly #listeners = new Set<Listener>();
  readonly #channel: BroadcastChannel;
  readonly #log: (message: string) => void;
  #closed = false;

  constructor(path: string, log: (message: string) => void) {
    this.#log = log;
    this.#channel = new BroadcastChannel(mcpEventChannelName(path));
    this.#channel.onmessage = (message) => {
      const data = (message as { data?: unknown }).data;
      if (isChangeEvent(data)) this.#deliver(data);
    };
    // Listening for other threads' events must not keep a thread alive.
    (this.#channel as { unref?: () => void }).unref?.();
  }

  publish(event: ChangeEvent): void {
    if (!isChangeEvent(event)) throw new TypeError(`not a change event: ${JSON.stringify(event)}`);
    this.#deliver(event);
    if (!this.#closed) this.#channel.postMessage(event);
  }

  subscribe(listener: Listener): () => void {
    if (this.#listeners.size >= maxListeners) throw new RangeError(`more than ${maxListeners} event listeners`);
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Stops taking and sending events across threads; local delivery goes on. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#channel.close();
  }

  #deliver(event: ChangeEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.#log(`a change-event listener threw: ${String(error)}`);
      }
    }
  }
}

const kinds = new Set(['tools_list_changed', 'prompts_list_changed', 'resources_list_changed', 'resource_updated']);

function isChangeEvent(value: unknown): value is ChangeEvent {
  if (typeof value !== 'object' || value === null) return false;
  const { kind, uri } = value as { kind?: unknown; uri?: unknown };
  if (typeof kind !== 'string' || !kinds.has(kind)) return false;
  return kind !== 'resource_updated' || typeof uri === 'string';
}
