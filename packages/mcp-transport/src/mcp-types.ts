/**
 * The MCP wire and transport types this package works with, written out
 * here rather than imported from an SDK: both SDK lines
 * (`@modelcontextprotocol/sdk` 1.x and `@modelcontextprotocol/server` 2.x)
 * are optional peers, so neither may be named by the package's types or
 * loaded by its code unless the application uses it. The shapes are the
 * ones both lines share.
 */

export type RequestId = string | number;

/** A JSON-RPC request, notification, result or error, as MCP sends them. */
export interface JSONRPCMessage {
  jsonrpc: '2.0';
  id?: RequestId;
  method?: string;
  params?: { [key: string]: unknown };
  result?: { [key: string]: unknown };
  error?: { code: number; message: string; data?: unknown };
}

/** What a bearer token check establishes, as both SDK lines pass it to tools (`authInfo`). */
export interface AuthInfo {
  token: string;
  clientId: string;
  scopes: string[];
  /** When the token expires, in seconds since the epoch. */
  expiresAt?: number;
  resource?: URL;
  extra?: Record<string, unknown>;
}

/**
 * What a transport tells the MCP server about the HTTP request that carried
 * a message: SDK 1.x reads `requestInfo` (headers and URL), SDK 2.x reads
 * `request` (a web `Request`); both read `authInfo`.
 */
export interface MessageExtraInfo {
  requestInfo?: { headers: Record<string, string | string[] | undefined>; url?: URL };
  request?: globalThis.Request;
  authInfo?: AuthInfo;
  closeSSEStream?: () => void;
  closeStandaloneSSEStream?: () => void;
}

export interface TransportSendOptions {
  relatedRequestId?: RequestId | undefined;
}

/** The transport contract MCP servers of both SDK lines connect to. */
export interface Transport {
  start(): Promise<void>;
  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void>;
  close(): Promise<void>;
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: ((message: JSONRPCMessage, extra?: MessageExtraInfo) => void) | undefined;
  sessionId?: string | undefined;
}

/**
 * The protocol versions of the 2025 eras (and the 2024 ones before them)
 * that the session stack accepts in `MCP-Protocol-Version`; both SDK lines
 * negotiate the same list in `initialize`.
 */
export const legacyProtocolVersions: readonly string[] = [
  '2025-11-25',
  '2025-06-18',
  '2025-03-26',
  '2024-11-05',
  '2024-10-07',
];

/** The version a request after `initialize` is taken to speak when it sends no `MCP-Protocol-Version`. */
export const defaultLegacyProtocolVersion = '2025-03-26';

/** The first protocol revision without sessions: a version at or after it claims the 2026 era. */
export const modernProtocolVersion = '2026-07-28';

/** The `_meta` key of a 2026-era request that names its protocol version. */
export const protocolVersionMetaKey = 'io.modelcontextprotocol/protocolVersion';

/** The `_meta` key of a 2026-era request that names its client (`name`, `version`). */
export const clientInfoMetaKey = 'io.modelcontextprotocol/clientInfo';

/** The `_meta` key of a 2026-era request that carries the client's capabilities. */
export const clientCapabilitiesMetaKey = 'io.modelcontextprotocol/clientCapabilities';

/** The `_meta` key of a 2026-era answer that names the server (`name`, `version`). */
export const serverInfoMetaKey = 'io.modelcontextprotocol/serverInfo';

/** The `_meta` key that ties a listen stream's notifications to their subscription. */
export const subscriptionIdMetaKey = 'io.modelcontextprotocol/subscriptionId';
