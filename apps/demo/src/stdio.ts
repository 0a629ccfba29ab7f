// `mummyx-demo --stdio`: the demo's McpServer over stdin/stdout, for clients that start servers as
// child processes (Claude Desktop). stdout carries nothing but JSON-RPC messages, one per line;
// every log line goes to stderr. There is no HTTP server in this mode: `broadcast` reaches nobody
// and `hash_upload` (which needs the upload endpoint) is not offered.
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { PendingRequests } from './json-rpc.js';
import { createDemoMcpServer } from './mcp-server.js';

export interface StdioOptions {
  dataDir: string;
  conformance: boolean;
  log: (line: string) => void;
}

/**
 * Serves MCP on stdin/stdout until stdin ends; then, once every request already received is
 * answered, closes and resolves (so `printf '…' | mummyx-demo --stdio` gets all its answers).
 */
export async function runStdio(options: StdioOptions): Promise<void> {
  const server = createDemoMcpServer({ dataDir: options.dataDir, conformance: options.conformance });
  server.server.onerror = (error) => options.log(`MCP error: ${error.message}`);
  const transport = new StdioServerTransport();
  await server.connect(transport);

  // Count the requests in flight, to answer them all before leaving at the end of input.
  const pending = new PendingRequests();
  const receive = transport.onmessage;
  transport.onmessage = (message: JSONRPCMessage) => {
    pending.received(message);
    receive?.(message);
  };
  const send = transport.send.bind(transport);
  transport.send = async (message: JSONRPCMessage) => {
    await send(message);
    pending.sent(message);
  };
  const closed = transport.onclose;
  transport.onclose = () => {
    closed?.();
    pending.abandon();
  };
  pending.watchProcessStreams(options.log);
  options.log(`MCP over stdio ready (sample database in ${options.dataDir}); end of input stops it`);
  await pending.finished;
  await server.close();
}
