// App module of the MummyX MCP benchmark server (loaded by the IO thread and every worker).
import { Router } from '@mummyx/core';
import { mountMcp } from '@mummyx/mcp-transport';
import { createBenchServer } from './mcp-tools.mjs';

export const router = new Router();
mountMcp(router, { createServer: createBenchServer, stateless: process.env.MCP_STATELESS === '1' });
