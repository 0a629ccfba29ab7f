// `mummyx-demo --stdio`: the demo's McpServer over stdin/stdout, for clients that start servers as
// child processes (Claude Desktop). stdout carries nothing but JSON-RPC messages, one per line;
// every log line goes to stderr. There is no HTTP server in this mode: `broadcast` reaches no
// page and `hash_upload` (which needs the upload endpoint) is not offered.
//
// Both protocol eras: the SDK's `serveStdio` picks the era from the opening message (`initialize`
// for 2025, `server/discover` or any request carrying a 2026-07-28 `_meta` for 2026) and keeps one
// server for the connection.
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { LineTransport } from './line-transport.js';
import { createDemoMcpServer } from './mcp-server.js';

export interface StdioOptions {
  dataDir: string;
  conformance: boolean;
  log: (line: string) => void;
}

/**
 * Serves MCP on stdin/stdout until stdin ends; then, once every request already received is
 * answered, closes and resolves.
 */
export async function runStdio(options: StdioOptions): Promise<void> {
  const transport = new LineTransport(process.stdin, process.stdout);
  const handle = serveStdio(() => createDemoMcpServer({ dataDir: options.dataDir, conformance: options.conformance }), {
    transport,
    onerror: (error) => options.log(`MCP error: ${error.message}`),
  });
  options.log(`MCP over stdio ready (sample database in ${options.dataDir}); end of input stops it`);
  await transport.closed;
  await handle.close();
}
