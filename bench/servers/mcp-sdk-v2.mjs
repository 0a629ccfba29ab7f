// The MCP SDK 2.x's own way to serve 2026-07-28 on node:http, as its serving docs set it up:
// `toNodeHandler(createMcpHandler(factory))` from @modelcontextprotocol/node, a fresh server per
// request (the SDK's model). 2025-era traffic is served statelessly by the same handler.
import { createServer } from 'node:http';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler } from '@modelcontextprotocol/server';
import { createBenchServerV2 } from './mcp-tools-v2.mjs';

const handler = createMcpHandler(() => createBenchServerV2());
const serve = toNodeHandler(handler);

const http = createServer((req, res) => {
  if (!req.url.startsWith('/mcp')) {
    res.writeHead(404).end();
    return;
  }
  serve(req, res).catch((error) => {
    if (!res.headersSent) res.writeHead(500).end(String(error));
  });
});
http.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${http.address().port}`);
});
process.on('SIGTERM', () => {
  http.closeAllConnections();
  http.close(() => void handler.close().then(() => process.exit(0)));
});
