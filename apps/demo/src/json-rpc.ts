// JSON-RPC bookkeeping for the stdio modes: which messages are requests and which are responses.
import type { JSONRPCMessage } from '@modelcontextprotocol/server';

export function isRequest(
  message: JSONRPCMessage,
): message is JSONRPCMessage & { id: string | number; method: string } {
  return 'method' in message && 'id' in message;
}

export function isResponse(message: JSONRPCMessage): message is JSONRPCMessage & { id: string | number } {
  return 'id' in message && ('result' in message || 'error' in message);
}
