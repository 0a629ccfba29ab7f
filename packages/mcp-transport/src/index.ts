export { mountMcp, type McpMount, type McpMountOptions, type CorsOptions, type SessionCloseReason } from './mount.js';
export type { McpSessionInfo, McpServerLike, TransportKind } from './session.js';
export { InMemoryEventStore, type EventStore, type InMemoryEventStoreOptions } from './event-store.js';
