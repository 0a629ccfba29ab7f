import type { Request } from '@mummyx/core';
import { ErrorCode, askedVersion, respondError } from '../json-rpc.js';
import {
  defaultLegacyProtocolVersion,
  legacyProtocolVersions,
  type JSONRPCMessage,
  type RequestId,
} from '../mcp-types.js';

const supportedVersions = new Set<string>(legacyProtocolVersions);

/** The version an `initialize` settles on: the one it asks for when supported, else the SDK's default. */
export function negotiatedVersion(initialize: JSONRPCMessage): string {
  const asked = askedVersion(initialize);
  return asked !== undefined && supportedVersions.has(asked) ? asked : defaultLegacyProtocolVersion;
}

/**
 * The `MCP-Protocol-Version` of a request after `initialize`: absent means
 * 2025-03-26; an unsupported one is answered 400 (with `headers`) and gives false.
 */
export function headerVersion(
  request: Request,
  headers: Record<string, string>,
  replyId: RequestId | null = null,
): string | false {
  const version = request.headers.get('mcp-protocol-version');
  if (version === undefined) return defaultLegacyProtocolVersion;
  if (supportedVersions.has(version)) return version;
  respondError(
    request,
    400,
    ErrorCode.ConnectionClosed,
    `Bad Request: Unsupported protocol version: ${version} (supported versions: ${legacyProtocolVersions.join(', ')})`,
    headers,
    replyId,
  );
  return false;
}

/**
 * Whether streams start with a priming event (an empty event with an id to
 * resume from, and the `retry:` delay): from protocol 2025-11-25 on, as older
 * clients do not expect an event without a message.
 */
export function primesStreams(protocolVersion: string): boolean {
  return protocolVersion >= '2025-11-25';
}
