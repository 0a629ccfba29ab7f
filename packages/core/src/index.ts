export { createServer, Server, type ListenAddress, type ServerStats } from './server/server.js';
export type { PoolStats, TimeSummary } from './execution/worker-pool.js';
export { parseThreads, type ServerOptions, type ElasticThreads, type WebSocketOptions } from './server/options.js';
export {
  Request,
  type RequestHead,
  type RespondSseOptions,
  type SessionBinding,
  type UpgradeOptions,
} from './http/request.js';
export { SseStream } from './sse/sse-stream.js';
export { encodeSseEvent, encodeSseComment, type SseEvent } from './sse/sse-encoder.js';
export { publish } from './pubsub/publish.js';
export {
  WebSocket,
  type WebSocketHandler,
  type WebSocketEvent,
  type WebSocketMessage,
  type MessageKind,
} from './websocket/websocket.js';
export { Headers, type HeadersInit } from './http/headers.js';
export { serveFile, type ServeFileOptions } from './http/serve-file.js';
export { parseRange, type ByteRange, type RangeRequest } from './http/byte-ranges.js';
export {
  receiveMultipart,
  decodeMultipart,
  sanitiseFileName,
  type MultipartLimits,
  type ReceiveMultipartOptions,
  type ReceivedFile,
  type ReceivedForm,
  type MultipartEntry,
} from './http/multipart.js';
export type { ResponseBody } from './http/response.js';
export { negotiateEncoding, type CompressionOptions, type ContentEncoding } from './http/compression.js';
export {
  Router,
  type RequestHandler,
  type ErrorHandler,
  type MethodNotAllowedHandler,
  type RouteOptions,
  type Route,
  type RouteMatch,
} from './router/router.js';
export { RoutePattern } from './router/route-pattern.js';
export {
  fetchHandler,
  toWebRequest,
  writeWebResponse,
  type FetchHandler,
  type FetchHandlerOptions,
  type WebRequestOptions,
} from './fetch/fetch-handler.js';
export { MxError, errorCodes, type ErrorCode } from './errors.js';
export { FileLogger, type FileLoggerOptions } from './log/file-logger.js';
export { stderrLogHandler, silentLogHandler, type LogHandler, type LogLevel } from './log/log-handler.js';
