// The public API of @mummyx/core. Classes users never construct (the server, a request, its
// streams and WebSockets) are exported as types: createServer() makes the server, and the rest
// comes from it.
export { createServer, type Server, type ListenAddress, type ServerStats } from './server/server.js';
export type { PoolStats, TimeSummary } from './threads/pool-stats.js';
export type { AppModule } from './threads/app-module.js';
export { parseThreads, type ServerOptions, type ElasticThreads, type WebSocketOptions } from './server/options.js';
export type { Request, RequestHead, RespondSseOptions, SessionBinding, UpgradeOptions } from './http/request.js';
export type { SseStream } from './sse/sse-stream.js';
export type { SseEvent } from './sse/sse-encoder.js';
export { publish } from './pubsub/publish.js';
export type { TopicBroker, BrokerStats } from './pubsub/topic-broker.js';
export type { SessionDirectory, SessionDirectoryStats } from './server/session-directory.js';
export { sharedSecret } from './threads/shared-secret.js';
export type {
  WebSocket,
  WebSocketHandler,
  WebSocketEvent,
  WebSocketMessage,
  MessageKind,
} from './websocket/websocket.js';
export { Headers, type HeadersInit } from './http/headers.js';
export { serveFile, type ServeFileOptions } from './http/serve-file.js';
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
export type { ResponseStreamBody } from './http/response-stream.js';
export type { CompressionOptions, ContentEncoding } from './http/compression.js';
export {
  Router,
  type RequestHandler,
  type ErrorHandler,
  type MethodNotAllowedHandler,
  type RouteOptions,
  type Route,
  type RouteMatch,
} from './router/router.js';
export {
  fetchHandler,
  toWebRequest,
  writeWebResponse,
  type FetchHandler,
  type WebRequestOptions,
} from './fetch/fetch-handler.js';
export { MxError, errorCodes, type ErrorCode, type MxErrorOptions } from './errors.js';
export { FileLogger, type FileLoggerOptions } from './log/file-logger.js';
export { stderrLogHandler, silentLogHandler, type LogHandler, type LogLevel } from './log/log-handler.js';
