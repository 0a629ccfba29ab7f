import { randomUUID } from 'node:crypto';
import type { Request, WebSocket, WebSocketEvent, WebSocketMessage } from '@mummyx/core';
import type { EndpointContext } from '../endpoint-context.js';
import { authInfoOf } from '../auth.js';
import { ErrorCode, askedVersion, errorBody, isInitialize, isJsonRpcMessage } from '../json-rpc.js';
import { protocolVersionMetaKey, type JSONRPCMessage, type MessageExtraInfo } from '../mcp-types.js';
import { messageExtra } from '../message-extra.js';
import { loadSdkV2Stdio } from '../sdk-v2.js';
import { announceToServer, type Session, type SessionServer } from '../session-registry.js';
import type { McpServerLike } from '../session-transport.js';
import { WebSocketTransport } from './transport.js';

/** The WebSocket subprotocol a client must ask for. */
const subprotocol = 'mcp';

/**
 * The protocol version a connection's opening message names: an
 * `initialize`'s `protocolVersion`, or a 2026-era request's `_meta` version.
 */
function openingVersion(message: JSONRPCMessage): string | undefined {
  if (isInitialize(message)) return askedVersion(message);
  const meta = message.params?.['_meta'] as Record<string, unknown> | undefined;
  const version = meta?.[protocolVersionMetaKey];
  return typeof version === 'string' ? version : undefined;
}

/**
 * MCP over WebSocket (subprotocol `mcp`; not a spec transport): one session
 * per socket, one JSON-RPC message per text frame, both ways. SDK 1.x
 * servers speak the 2025 eras on it; SDK 2.x servers the 2025 eras or
 * 2026-07-28, as the client's first message chooses.
 */
export class WebSocketEndpoint {
  readonly #context: EndpointContext;

  constructor(context: EndpointContext) {
    this.#context = context;
  }

  /** GET on the WebSocket path: upgrades, then makes the socket's session. */
  async open(request: Request): Promise<void> {
    const { sessions } = this.#context;
    const cors = this.#context.corsHeaders(request);
    if (!request.isUpgrade) {
      request.respond(
        426,
        { 'Content-Type': 'text/plain; charset=utf-8', Upgrade: 'websocket', ...cors },
        'Upgrade Required: connect with a WebSocket and the mcp subprotocol\n',
      );
      return;
    }
    const offered = (request.headers.get('sec-websocket-protocol') ?? '').split(',').map((p) => p.trim());
    if (!offered.includes(subprotocol)) {
      request.respond(
        400,
        { 'Content-Type': 'text/plain; charset=utf-8' },
        'Bad Request: the WebSocket must ask for the mcp subprotocol (Sec-WebSocket-Protocol: mcp)\n',
      );
      return;
    }
    if (sessions.refuseNewSession(request, cors)) return;
    const id = randomUUID();
    const extra = messageExtra(request);
    // Events can arrive before the session exists: they see it once it does.
    const state: { session: Session | undefined } = { session: undefined };
    const pending: JSONRPCMessage[] = [];
    const socket = request.upgradeToWebSocket({
      protocol: subprotocol,
      handler: (websocket, event, message) => this.#onEvent(websocket, event, message, state.session, pending, extra),
    });
    const transport = new WebSocketTransport(id, socket);
    const session = await sessions.start(request, 'websocket', id, transport, undefined, (opened) =>
      this.#serve(opened, request),
    );
    state.session = session;
    sessions.created(session);
    if (socket.closed) {
      await sessions.close(session, 'disconnected');
      return;
    }
    // Messages that arrived while the server was being made.
    for (const message of pending.splice(0)) transport.receive(message, extra);
  }

  /**
   * What serves a socket's session. An SDK 1.x server is connected to the
   * socket's transport (2025 eras). SDK 2.x servers are served through the
   * SDK's `serveStdio` entry with the socket as its transport: the opening
   * message picks the era (`initialize`: 2025; a 2026-07-28 request such as
   * `server/discover`: 2026, with `subscriptions/listen` answered by the
   * entry), and one server is pinned to the connection. Until a server has
   * shown the mount's SDK line, one is made to see it.
   */
  async #serve(session: Session, request: Request): Promise<SessionServer> {
    const { factory } = this.#context;
    const authInfo = authInfoOf(request);
    let probe: McpServerLike | undefined;
    if (factory.line === undefined) probe = await factory.create(session.info, 'legacy', authInfo);
    const stdio = factory.line === 'v2' ? await loadSdkV2Stdio() : undefined;
    if (stdio === undefined) {
      const server = probe ?? (await factory.create(session.info, 'legacy', authInfo));
      await server.connect(session.transport);
      return {
        close: () => server.close(),
        announce: (event) => announceToServer(server, event, session.transport),
      };
    }
    await probe?.close().catch(() => {});
    let pinned: { server: McpServerLike; era: 'legacy' | 'modern' } | undefined;
    const handle = stdio.serveStdio(
      async (ctx) => {
        const server = await factory.create(session.info, ctx.era, authInfo);
        pinned = { server, era: ctx.era };
        return server as never;
      },
      {
        transport: session.transport,
        onerror: (error) => this.#context.log(`WebSocket session ${session.info.id}: ${error.message}`),
      },
    );
    return {
      close: () => handle.close(),
      // A 2026 connection's entry filters by its listen subscriptions; a 2025 one gets updates of subscribed URIs.
      announce: (event) => {
        if (pinned !== undefined) {
          announceToServer(pinned.server, event, pinned.era === 'legacy' ? session.transport : undefined);
        }
      },
    };
  }

  #onEvent(
    websocket: WebSocket,
    event: WebSocketEvent,
    message: WebSocketMessage,
    session: Session | undefined,
    pending: JSONRPCMessage[],
    extra: MessageExtraInfo,
  ): void {
    const { sessions } = this.#context;
    if (event === 'close') {
      if (session !== undefined) void sessions.close(session, 'disconnected');
      return;
    }
    if (event !== 'message' || message === undefined) return;
    if (message.kind !== 'text') {
      websocket.close(1003, 'MCP messages are JSON text frames');
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(message.data);
    } catch (error) {
      websocket.send(errorBody(ErrorCode.ParseError, `Parse error: ${(error as Error).message}`));
      return;
    }
    if (!isJsonRpcMessage(value)) {
      websocket.send(errorBody(ErrorCode.InvalidRequest, 'Invalid Request: one JSON-RPC 2.0 message per frame'));
      return;
    }
    if (session === undefined) {
      pending.push(value);
      return;
    }
    sessions.touch(session);
    if (session.info.protocolVersion === undefined) session.info.protocolVersion = openingVersion(value);
    session.transport.receive(value, extra);
  }
}
