export { mountMcp, type McpMount, type McpMountOptions } from './mount.js';
export type { CorsOptions } from './cors.js';
export type { SessionCloseReason } from './session-registry.js';
export type { McpSessionInfo, McpServerLike, TransportKind } from './session-transport.js';
export { InMemoryEventStore, type EventStore, type InMemoryEventStoreOptions } from './event-store.js';
