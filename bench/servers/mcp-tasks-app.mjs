// App module of the Tasks benchmark server (loaded by the IO thread, which hosts the task store,
// and by every worker): an SDK 2.x server whose `work` tool (sleeps `ms`) runs as a task for a
// client that declares the extension. TASKS_TTL_MS sets how long tasks are kept.
import { Router } from '@mummyx/core';
import { mountMcp } from '@mummyx/mcp-transport';
import { McpServer } from '@modelcontextprotocol/server';
import * as z from 'zod';

const workInput = z.object({ ms: z.number().int().min(0).max(60_000) });
const done = { content: [{ type: 'text', text: 'done' }] };

export const router = new Router();
mountMcp(router, {
  createServer: (ctx) => {
    const server = new McpServer(
      { name: 'bench-tasks', version: '1.0.0' },
      { ...ctx.serverOptions, capabilities: { tools: {} } },
    );
    server.registerTool('work', { inputSchema: workInput }, async ({ ms }) => {
      if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
      return done;
    });
    return server;
  },
  tasks: {
    tools: ['work'],
    ttlMs: Number(process.env.TASKS_TTL_MS ?? 600_000),
    maxTasks: 1_000_000,
    maxTasksPerPrincipal: 1_000_000,
    pollBurst: false,
  },
  ssePath: false,
  websocketPath: false,
  healthPath: false,
  log: () => {},
});
