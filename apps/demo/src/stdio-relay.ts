// `mummyx-demo --stdio --url URL`: MCP over stdin/stdout, relayed to a running HTTP demo's
// Streamable HTTP endpoint. Claude Desktop starts only stdio servers; through this relay its tool
// calls reach the HTTP demo, and so show on its web page. Messages pass through unchanged: the
// session, its server and its tools are the HTTP demo's. stdout carries only JSON-RPC; logs go to
// stderr. When the demo cannot be reached, each request gets a JSON-RPC error that says so.
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { isRequest, isResponse } from './json-rpc.js';
import { LineTransport } from './line-transport.js';

export interface StdioRelayOptions {
  /** The HTTP demo's Streamable HTTP endpoint, e.g. http://127.0.0.1:8080/mcp. */
  url: URL;
  log: (line: string) => void;
  /** How to start the HTTP demo, for the error message when it is not running. */
  startCommand: string;
}

/** The JSON-RPC error code of a request the relay could not deliver (implementation-defined range). */
export const relayErrorCode = -32_000;

type RequestId = string | number;

/**
 * Relays between stdin/stdout and `options.url` until stdin ends; then, once every request
 * already received is answered (or failed), ends the HTTP session and resolves.
 */
export async function runStdioRelay(options: StdioRelayOptions): Promise<void> {
  // Answers every request it received before it closes at the end of input.
  const stdio = new LineTransport(process.stdin, process.stdout);
  const http = new StreamableHTTPClientTransport(options.url);
  let initializeId: RequestId | undefined;

  const toClient = (message: JSONRPCMessage): void => {
    stdio.send(message).catch((error: unknown) => options.log(`stdout: ${(error as Error).message}`));
  };

  http.onmessage = (message) => {
    if (isResponse(message) && message.id === initializeId && 'result' in message) {
      // What the client transport of an SDK Client does after initialize: later requests carry
      // the negotiated MCP-Protocol-Version header.
      const version = (message.result as { protocolVersion?: unknown }).protocolVersion;
      if (typeof version === 'string') http.setProtocolVersion(version);
    }
    toClient(message);
  };
  http.onerror = (error) => options.log(`${options.url.href}: ${error.message}`);

  // One POST at a time, in the order received: the first carries initialize, and its answer
  // brings the session id every later POST needs. (A send settles once the POST is answered or
  // its stream opened, not when a long tool call ends.)
  let previousSend = Promise.resolve();
  stdio.onmessage = (message) => {
    const id = isRequest(message) ? message.id : undefined;
    if (isRequest(message) && message.method === 'initialize') initializeId = message.id;
    previousSend = previousSend.then(() => relay(message, id));
  };
  const relay = (message: JSONRPCMessage, id: RequestId | undefined): Promise<void> =>
    http.send(message).catch((error: unknown) => {
      const reason = (error as Error).message;
      options.log(`cannot deliver to ${options.url.href}: ${reason}`);
      if (id === undefined) return;
      toClient({
        jsonrpc: '2.0',
        id,
        error: {
          code: relayErrorCode,
          message:
            `cannot reach the MummyX demo at ${options.url.href} (${reason}); is it running? ` +
            `Start it with \`${options.startCommand}\`, then restart this server`,
        },
      });
    });
  stdio.onerror = (error) => options.log(`stdio: ${error.message}`);

  await http.start();
  await stdio.start();
  options.log(`relaying MCP between stdio and ${options.url.href}; end of input stops it`);
  await stdio.closed;
  // The HTTP demo would otherwise keep the session until it idles out.
  if (http.sessionId !== undefined) await http.terminateSession().catch(() => {});
  await http.close();
  await stdio.close();
}
