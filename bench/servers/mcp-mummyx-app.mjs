// App module of the MummyX MCP benchmark server (loaded by the IO thread and every worker).
// MCP_STATELESS=1: the 2025 eras without sessions; MCP_SDK=v2: SDK 2.x servers (both eras, and
// 2026-07-28), else SDK 1.x ones (2025 eras); MCP_REUSE=1: `reuseServers` for 2026-07-28 requests.
import { Router } from '@mummyx/core';
import { mountMcp } from '@mummyx/mcp-transport';
import { createBenchServer } from './mcp-tools.mjs';
import { createBenchServerV2 } from './mcp-tools-v2.mjs';
import { probeRoute } from './thread-probe.mjs';

const v2 = process.env.MCP_SDK === 'v2';
export const router = new Router();
mountMcp(router, {
  createServer: v2 ? (ctx) => createBenchServerV2(ctx.serverOptions) : createBenchServer,
  stateless: process.env.MCP_STATELESS === '1',
  ...(process.env.MCP_REUSE === '1' ? { reuseServers: true } : {}),
});
probeRoute(router);
