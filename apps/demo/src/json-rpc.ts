// Telling JSON-RPC messages apart, for the stdio modes that count requests in flight.
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

export function isRequest(
  message: JSONRPCMessage,
): message is JSONRPCMessage & { id: string | number; method: string } {
  return 'method' in message && 'id' in message;
}

export function isResponse(message: JSONRPCMessage): message is JSONRPCMessage & { id: string | number } {
  return 'id' in message && ('result' in message || 'error' in message);
}
