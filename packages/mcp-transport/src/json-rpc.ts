import type { HeadersInit, Request } from '@mummyx/core';
import type { JSONRPCMessage, RequestId } from './mcp-types.js';

/** JSON-RPC error codes this package answers with. */
export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  /** Transport-level refusals (the SDK's convention). */
  ConnectionClosed: -32000,
  SessionNotFound: -32001,
} as const;

/**
 * A JSON-RPC error body, the shape MCP clients parse from HTTP errors. It
 * carries the request's `id` when one could be read (`echoableId`), `null`
 * otherwise (a body that is not JSON, a batch).
 */
export function errorBody(code: number, message: string, id: RequestId | null = null): string {
  return JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } });
}

/** Answers an HTTP request with a JSON-RPC error, echoing `id` when the request's could be read. */
export function respondError(
  request: Request,
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
  id: RequestId | null = null,
): void {
  request.respond(status, { 'Content-Type': 'application/json', ...headers }, errorBody(code, message, id));
}

/**
 * The id an error reply to a POST body echoes: the `id` of a single
 * JSON-RPC request (a string or an integer), else null (a batch, a
 * notification, something that is not a request).
 */
export function echoableId(body: unknown): RequestId | null {
  if (!isObject(body) || typeof body['method'] !== 'string') return null;
  const id = body['id'];
  return isId(id) ? (id as RequestId) : null;
}

/** Most messages one batch may hold. */
const maxBatch = 100;

/**
 * The JSON value of a POST body; answers 415 (not JSON), 413 (over
 * `maxMessageBytes`) or 400 (not JSON) with `headers` and returns undefined
 * otherwise.
 */
export function readJson(
  request: Request,
  headers: Record<string, string>,
  maxMessageBytes: number,
): { value: unknown } | undefined {
  if (!isMediaType(request.headers.get('content-type'), 'application/json')) {
    respondError(
      request,
      415,
      ErrorCode.ConnectionClosed,
      'Unsupported Media Type: Content-Type must be application/json',
      headers,
    );
    return undefined;
  }
  if (request.body.length > maxMessageBytes) {
    respondError(
      request,
      413,
      ErrorCode.ConnectionClosed,
      `Payload Too Large: the body exceeds ${maxMessageBytes} bytes`,
      headers,
    );
    return undefined;
  }
  try {
    return { value: JSON.parse(request.body.toString('utf8')) as unknown };
  } catch (error) {
    respondError(request, 400, ErrorCode.ParseError, `Parse error: ${(error as Error).message}`, headers);
    return undefined;
  }
}

/**
 * The JSON-RPC messages of a POST body; answers 415, 413 or 400 (not
 * JSON-RPC, with the request's id when readable) with `headers` and returns
 * undefined otherwise.
 */
export function readMessages(
  request: Request,
  headers: Record<string, string>,
  maxMessageBytes: number,
): { messages: JSONRPCMessage[]; batch: boolean } | undefined {
  const body = readJson(request, headers, maxMessageBytes);
  return body === undefined ? undefined : messagesOf(request, body.value, headers);
}

/** The JSON-RPC messages of a parsed body; answers 400 with `headers` and returns undefined when it holds none. */
export function messagesOf(
  request: Request,
  value: unknown,
  headers: Record<string, string>,
): { messages: JSONRPCMessage[]; batch: boolean } | undefined {
  const parsed = toMessages(value, maxBatch);
  if (!parsed.ok) {
    respondError(request, 400, parsed.code, parsed.message, headers, echoableId(value));
    return undefined;
  }
  return parsed;
}

export type ParsedMessages =
  { ok: true; messages: JSONRPCMessage[]; batch: boolean } | { ok: false; code: number; message: string };

/**
 * Parses a body holding one JSON-RPC message or a batch (an array, accepted
 * for 2025-03-26 clients) of at most `maxBatch`.
 */
export function parseMessages(text: string, maxBatch: number): ParsedMessages {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, code: ErrorCode.ParseError, message: `Parse error: ${(error as Error).message}` };
  }
  return toMessages(value, maxBatch);
}

/** The JSON-RPC messages of a parsed body: one message or a batch of at most `maxBatch`. */
export function toMessages(value: unknown, maxBatch: number): ParsedMessages {
  const batch = Array.isArray(value);
  const items: unknown[] = batch ? (value as unknown[]) : [value];
  if (items.length === 0) return { ok: false, code: ErrorCode.InvalidRequest, message: 'Invalid Request: empty batch' };
  if (items.length > maxBatch) {
    return {
      ok: false,
      code: ErrorCode.InvalidRequest,
      message: `Invalid Request: a batch holds at most ${maxBatch} messages`,
    };
  }
  const messages: JSONRPCMessage[] = [];
  for (const item of items) {
    if (!isJsonRpcMessage(item)) {
      return { ok: false, code: ErrorCode.InvalidRequest, message: 'Invalid Request: not a JSON-RPC 2.0 message' };
    }
    messages.push(item);
  }
  return { ok: true, messages, batch };
}

/** A plain JSON object (not null, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `value` when it is a plain JSON object, else an empty object. */
export function objectOr(value: unknown): Record<string, unknown> {
  return isObject(value) ? value : {};
}

function isId(value: unknown): boolean {
  return typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value));
}

/**
 * The JSON-RPC 2.0 envelope MCP uses: a request (`id` + `method`), a
 * notification (`method`), a result or an error response. Checked by hand:
 * this runs for every message, and the method's own schema is checked again
 * by the MCP server.
 */
export function isJsonRpcMessage(value: unknown): value is JSONRPCMessage {
  if (!isObject(value) || value['jsonrpc'] !== '2.0') return false;
  const method = value['method'];
  if (method !== undefined) {
    if (typeof method !== 'string') return false;
    if ('id' in value && !isId(value['id'])) return false;
    const params = value['params'];
    return params === undefined || isObject(params);
  }
  if (!isId(value['id'])) return false;
  if ('result' in value) return isObject(value['result']) && !('error' in value);
  const error = value['error'];
  return (
    isObject(error) &&
    typeof error['code'] === 'number' &&
    Number.isInteger(error['code']) &&
    typeof error['message'] === 'string'
  );
}

export function isRequest(message: JSONRPCMessage): message is JSONRPCMessage & { id: RequestId; method: string } {
  return 'method' in message && 'id' in message;
}

export function isResponse(message: JSONRPCMessage): message is JSONRPCMessage & { id: RequestId } {
  return !('method' in message) && ('result' in message || 'error' in message);
}

/** The ids of the requests among `messages` (their answers are routed by them). */
export function requestIds(messages: JSONRPCMessage[]): RequestId[] {
  const ids: RequestId[] = [];
  for (const message of messages) if (isRequest(message)) ids.push(message.id);
  return ids;
}

/** An `initialize` request (its params are checked by the MCP server itself). */
export function isInitialize(message: JSONRPCMessage): boolean {
  return 'method' in message && message.method === 'initialize' && 'id' in message;
}

/** The protocol version an `initialize` request asks for, when it names one. */
export function askedVersion(message: JSONRPCMessage): string | undefined {
  const params = 'params' in message ? (message.params as { protocolVersion?: unknown } | undefined) : undefined;
  return typeof params?.protocolVersion === 'string' ? params.protocolVersion : undefined;
}

/** Case-insensitive search for a media type in an Accept or Content-Type value. */
export function hasMediaType(value: string | undefined, type: string): boolean {
  if (value === undefined) return false;
  for (const part of value.split(',')) {
    const media = part.split(';', 1)[0]!.trim().toLowerCase();
    if (media === type || media === '*/*' || media === `${type.split('/', 1)[0]}/*`) return true;
  }
  return false;
}

/** Exactly this media type (no wildcards), as Content-Type needs. */
export function isMediaType(value: string | undefined, type: string): boolean {
  if (value === undefined) return false;
  return value.split(';', 1)[0]!.trim().toLowerCase() === type;
}

export type { HeadersInit };
