/**
 * Errors raised by MummyX carry a stable `code` (`MX_ERR_…`) that callers can
 * switch on, and — where the error maps to the wire — the HTTP `status` or the
 * WebSocket `closeCode` the server answers with.
 */
export const errorCodes = {
  MX_ERR_RESPONSE_ALREADY_SENT: 'respond() was called after a response had been sent',
  MX_ERR_STATUS_INVALID: 'status must be an integer from 200 to 599',
  MX_ERR_HEADER_INVALID: 'header name or value is not valid HTTP',
  MX_ERR_BODY_INVALID: 'body must be a string, Buffer, Uint8Array or undefined',
  MX_ERR_ROUTE_INVALID: 'route pattern is not valid',
  MX_ERR_HANDLER_MISSING: 'a request handler or router is required',
  MX_ERR_OPTION_INVALID: 'option value is not valid',
  MX_ERR_SERVER_LISTENING: 'server is already listening',
  MX_ERR_SERVER_CLOSED: 'server is closed',
  MX_ERR_APP_INVALID: 'app module does not export a router or handler',
  MX_ERR_NO_RESPONSE: 'handler finished without responding',
  MX_ERR_HANDLER_TIMEOUT: 'handler did not respond in time',
  MX_ERR_WORKER_EXITED: 'worker thread exited while handling the request',
  MX_ERR_QUEUE_FULL: 'all workers are busy and the queue is full',
  MX_ERR_UPGRADE_REQUIRED: 'a WebSocket needs a request with Upgrade: websocket',
  MX_ERR_UPGRADE_INVALID: 'the WebSocket upgrade cannot be completed',
  MX_ERR_ORIGIN_FORBIDDEN: 'the request Origin is not allowed',
  MX_ERR_WS_ARGUMENT_INVALID: 'WebSocket send or close argument is not valid',
  MX_ERR_SSE_FIELD_INVALID: 'server-sent event field is not valid',
  MX_ERR_STREAM_CLOSED: 'the stream is closed',
  MX_ERR_BODY_TOO_LARGE: 'request body exceeds the limit',
  MX_ERR_MULTIPART_INVALID: 'multipart/form-data body is not valid',
  MX_ERR_MULTIPART_LIMIT: 'multipart/form-data body exceeds a limit',
  MX_ERR_UPLOAD_ID_INVALID: 'upload id is not valid',
  MX_ERR_UPLOAD_STORAGE: 'upload storage failed',
  MX_ERR_NOT_IN_WORKER: 'this call is only valid on a worker thread of a MummyX server',
  MX_ERR_ARGUMENT_INVALID: 'argument is not valid',
} as const;

export type ErrorCode = keyof typeof errorCodes;

export interface MxErrorOptions {
  /** HTTP status the server answers with when this error reaches the wire. */
  status?: number;
  /** WebSocket close code used when this error ends a connection. */
  closeCode?: number;
  cause?: unknown;
}

export class MxError extends Error {
  readonly code: ErrorCode;
  readonly status: number | undefined;
  readonly closeCode: number | undefined;

  constructor(code: ErrorCode, detail?: string, options: MxErrorOptions = {}) {
    super(detail === undefined ? errorCodes[code] : `${errorCodes[code]}: ${detail}`, {
      cause: options.cause,
    });
    this.name = 'MxError';
    this.code = code;
    this.status = options.status;
    this.closeCode = options.closeCode;
  }
}
