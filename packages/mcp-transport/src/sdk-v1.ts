/**
 * What this package takes from the MCP TypeScript SDK 1.x
 * (`@modelcontextprotocol/sdk`): the JSON-RPC message types, the `Transport`
 * contract its servers connect to, `AuthInfo`, and the protocol versions its
 * servers negotiate. Every other file imports them from here, so the rest of
 * the package names no SDK line.
 */
export type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
export type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
export type { JSONRPCMessage, MessageExtraInfo, RequestId } from '@modelcontextprotocol/sdk/types.js';
export { DEFAULT_NEGOTIATED_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
