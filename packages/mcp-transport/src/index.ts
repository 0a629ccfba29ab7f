export { mcpEventChannelName } from './event-bus.js';
export { mountMcp, type McpMount, type McpMountOptions, type McpNotifier, type McpTasksView } from './mount.js';
export type { McpTasksOptions, TaskCallInfo } from './tasks/tasks-extension.js';
export {
  InMemoryTaskStore,
  isTaskLimitError,
  TaskLimitError,
  type PollBudget,
  type TaskLimits,
  type TaskListener,
  type TaskPoll,
  type TaskStore,
} from './tasks/task-store.js';
export {
  newTaskRecord,
  type NewTask,
  type TaskCall,
  type TaskError,
  type TaskInputRound,
  type TaskRecord,
  type TaskStatus,
} from './tasks/task.js';
export {
  applyTaskEdit,
  taskEdits,
  type InputResume,
  type InputRound,
  type TaskEdit,
  type TaskOutcome,
} from './tasks/task-edits.js';
export type { CorsOptions } from './cors.js';
export type { SessionCloseReason } from './session-registry.js';
export type { McpSessionInfo, McpServerLike, TransportKind } from './session-transport.js';
export type { CacheHint, CacheableMethod, CreateServer, McpServerContext } from './server-factory.js';
export type { RequestStateCodec } from './request-state.js';
export type { AuthInfo } from './mcp-types.js';
export { McpTransportError, mcpTransportErrorCodes, type McpTransportErrorCode } from './errors.js';
export { InMemoryEventStore, type EventStore, type InMemoryEventStoreOptions } from './event-store.js';
