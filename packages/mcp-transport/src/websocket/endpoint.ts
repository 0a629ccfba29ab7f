import { randomUUID } from 'node:crypto';
import type { Request, WebSocket, WebSocketEvent, WebSocketMessage } from '@mummyx/core';
import type { EndpointContext } from '../endpoint-context.js';
import { ErrorCode, askedVersion, errorBody, isInitialize, isJsonRpcMessage } from '../json-rpc.js';
import { messageExtra } from '../message-extra.js';
import type { JSONRPCMessage, MessageExtraInfo } from '../mcp-types.js';
import type { Session } from '../session-registry.js';
import { WebSocketTransport } from './transport.js';

/** The WebSocket subprotocol a client must ask for. */
const subprotocol = 'mcp';

/**
 * MCP over WebSocket (subprotocol `mcp`; not a spec transport): one session
 * per socket, one JSON-RPC message per text frame, both ways.
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
    if (sessions.refuseWhenFull(request, cors)) return;
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
    const session = await sessions.start(request, 'websocket', id, transport, undefined);
    state.session = session;
    sessions.created(session);
    if (socket.closed) {
      await sessions.close(session, 'disconnected');
      return;
    }
    // Messages that arrived while the server was being made.
    for (const message of pending.splice(0)) transport.receive(message, extra);
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
    if (session.info.protocolVersion === undefined && isInitialize(value)) {
      session.info.protocolVersion = askedVersion(value);
    }
    session.transport.receive(value, extra);
  }
}
