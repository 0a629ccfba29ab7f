// The MCP SDK's own Streamable HTTP server on node:http, as its documentation sets it up:
// stateful (a transport and server per session, kept in a map) or MCP_STATELESS=1 (a fresh
// transport and server per POST).
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { createBenchServer } from './mcp-tools.mjs';
import { readJson } from './read-json.mjs';

const stateless = process.env.MCP_STATELESS === '1';
const transports = new Map();

const http = createServer(async (req, res) => {
  try {
    if (!req.url.startsWith('/mcp')) {
      res.writeHead(404).end();
      return;
    }
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    if (stateless) {
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      const server = createBenchServer();
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
      return;
    }
    const sid = req.headers['mcp-session-id'];
    let transport = sid === undefined ? undefined : transports.get(sid);
    if (transport === undefined) {
      if (sid !== undefined || !isInitializeRequest(body)) {
        res.writeHead(sid === undefined ? 400 : 404, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }));
        return;
      }
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => transports.set(id, transport),
      });
      transport.onclose = () => transports.delete(transport.sessionId);
      await createBenchServer().connect(transport);
    }
    await transport.handleRequest(req, res, body);
  } catch (error) {
    if (!res.headersSent) res.writeHead(500).end(String(error));
  }
});
http.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${http.address().port}`);
});
process.on('SIGTERM', () => {
  http.closeAllConnections();
  http.close(() => process.exit(0));
});
