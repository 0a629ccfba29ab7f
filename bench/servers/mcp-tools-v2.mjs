// The SDK 2.x twin of mcp-tools.mjs, for the 2026-07-28 figures: an `echo` tool and a `spin` tool
// that blocks its thread for `ms` milliseconds. Schemas live at module scope, as the SDK's serving
// docs advise for servers made per request.
import { McpServer } from '@modelcontextprotocol/server';
import * as z from 'zod';

const echoInput = z.object({ text: z.string() });
const spinInput = z.object({ ms: z.number() });

/** `options`: extra server options (MummyX passes `ctx.serverOptions`). */
export function createBenchServerV2(options = {}) {
  const server = new McpServer({ name: 'bench', version: '1.0.0' }, { ...options, capabilities: { tools: {} } });
  server.registerTool('echo', { inputSchema: echoInput }, ({ text }) => ({ content: [{ type: 'text', text }] }));
  server.registerTool('spin', { inputSchema: spinInput }, ({ ms }) => {
    const until = performance.now() + ms;
    while (performance.now() < until) {
      // block the thread
    }
    return { content: [{ type: 'text', text: 'done' }] };
  });
  return server;
}
