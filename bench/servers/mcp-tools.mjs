// The MCP server every benchmark server runs: an `echo` tool and a `spin` tool that blocks its
// thread for `ms` milliseconds (the synchronous tool of the head-of-line figure).
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';

export function createBenchServer() {
  const server = new McpServer({ name: 'bench', version: '1.0.0' });
  server.registerTool('echo', { inputSchema: { text: z.string() } }, ({ text }) => ({
    content: [{ type: 'text', text }],
  }));
  server.registerTool('spin', { inputSchema: { ms: z.number() } }, ({ ms }) => {
    const until = performance.now() + ms;
    while (performance.now() < until) {
      // block the thread
    }
    return { content: [{ type: 'text', text: 'done' }] };
  });
  return server;
}
