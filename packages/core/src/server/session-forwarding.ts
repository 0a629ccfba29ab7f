import type { IncomingMessage } from 'node:http';
import type { RequestHead } from '../http/request.js';
import { plainResponse } from '../http/response.js';
import type { LogLevel } from '../log/log-handler.js';
import { nodeHttp } from '../node-modules.js';
import type { PoolSink } from '../threads/job.js';
import { forwardedHeader } from './session-directory.js';

/** Hop-by-hop fields (RFC 9110 §7.6.1) and the framing the two hops each set for themselves. */
const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
]);

/** True when the request was forwarded to this node by another (it is never forwarded again). */
export function isForwarded(head: RequestHead): boolean {
  const raw = head.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === forwardedHeader) return true;
  return false;
}

/**
 * Forwards requests to the node that holds their session, over keep-alive
 * connections: the request as it arrived (Host kept, hop-by-hop fields left
 * out, `Mummyx-Forwarded` and `X-Forwarded-For` added), its buffered body,
 * and the answer piped back as it comes (an SSE stream stays a stream; the
 * client leaving closes the forwarded connection). A node that cannot be
 * reached answers 404, as for an unknown session: the client starts a new
 * one.
 */
export class SessionForwarding {
  readonly #agent = new (nodeHttp().Agent)({ keepAlive: true, maxFreeSockets: 64 });
  readonly #log: (level: LogLevel, message: string) => void;

  constructor(log: (level: LogLevel, message: string) => void) {
    this.#log = log;
  }

  forward(origin: string, nodeId: string, head: RequestHead, body: Buffer | undefined, sink: PoolSink): void {
    const headers: string[] = [];
    const raw = head.rawHeaders;
    let forwardedFor = head.remoteAddress;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      const lower = name.toLowerCase();
      if (hopByHop.has(lower) || lower === forwardedHeader) continue;
      if (lower === 'x-forwarded-for') {
        forwardedFor = `${raw[i + 1]!}, ${head.remoteAddress}`;
        continue;
      }
      headers.push(name, raw[i + 1]!);
    }
    headers.push(forwardedHeader, nodeId, 'X-Forwarded-For', forwardedFor);
    if (body !== undefined) headers.push('Content-Length', String(body.length));
    let url: URL;
    try {
      url = new URL(head.uri, origin);
    } catch {
      sink.send(plainResponse(502, 'Bad Gateway: the node holding this session has an invalid address'));
      return;
    }
    const upstream = nodeHttp().request(url, { method: head.method, headers, agent: this.#agent, setHost: false });
    let isAnswered = false;
    upstream.on('response', (response: IncomingMessage) => {
      isAnswered = true;
      if (sink.clientGone()) {
        response.destroy();
        return;
      }
      const answer: string[] = [];
      const fields = response.rawHeaders;
      for (let i = 0; i < fields.length; i += 2) {
        if (!hopByHop.has(fields[i]!.toLowerCase()) || fields[i]!.toLowerCase() === 'content-length') {
          answer.push(fields[i]!, fields[i + 1]!);
        }
      }
      sink.sendStream(response.statusCode ?? 502, answer, response);
    });
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      // Once the answer has begun, the piping ends it (a truncated stream); nothing to add.
      if (isAnswered) return;
      if (upstream.reusedSocket && error.code === 'ECONNRESET') {
        // A kept-alive connection the other node had closed: one fresh try.
        this.forward(origin, nodeId, head, body, sink);
        return;
      }
      this.#log('info', `forwarding ${head.method} ${head.path} to ${origin} failed: ${error.message}`);
      sink.send(
        plainResponse(404, `Not Found: the node holding this session (${origin}) cannot be reached; start a new one`),
      );
    });
    upstream.end(body);
  }

  close(): void {
    this.#agent.destroy();
  }
}
