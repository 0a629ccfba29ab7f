import type { ServerResponse } from 'node:http';
import { HubChannel } from '../channel/hub-channel.js';
import type { PublishedMessage, TopicHub } from '../pubsub/topic-hub.js';
import { encodeSseComment, encodeSseEvent } from './sse-encoder.js';
import type { StreamChannel } from './sse-stream.js';
import type { LogLevel } from '../log/log-handler.js';

/** What every SSE connection of one server shares. */
export interface StreamContext {
  readonly hub: TopicHub;
  readonly heartbeatIntervalMs: number;
  readonly maxBufferedBytes: number;
  /** Open streams, for `close()` and stats. */
  readonly streams: Set<SseConnection>;
  log(level: LogLevel, message: string): void;
}

/** How a published value becomes an SSE event: strings are data, objects are events. */
export function encodePublished(data: unknown): string {
  if (typeof data === 'string') return encodeSseEvent({ data });
  if (typeof data === 'object' && data !== null) return encodeSseEvent(data);
  return encodeSseEvent({ data: JSON.stringify(data) });
}

const heartbeat = encodeSseComment('keepalive');

/**
 * One server-sent events response on the IO thread: writes, heartbeats,
 * back-pressure, topic subscriptions and the single close notification.
 */
export class SseConnection extends HubChannel implements StreamChannel {
  readonly #res: ServerResponse;
  readonly #context: StreamContext;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(id: number, res: ServerResponse, status: number, headers: string[], context: StreamContext) {
    super(id, context.hub);
    this.#res = res;
    this.#context = context;
    context.streams.add(this);
    res.writeHead(status, headers);
    res.flushHeaders();
    // 'close' fires when the client goes away, when the response ends, or on a socket error.
    res.once('close', () => this.markEnded());
    // A client that left before the handler opened the stream (its 'close' has already fired),
    // or a HEAD request, which gets the head and nothing else: the stream starts closed, and
    // onClose fires once the handler had a chance to register it.
    const gone = res.destroyed || res.socket === null || res.socket.destroyed;
    if (gone || res.req.method === 'HEAD') {
      if (!gone) res.end();
      this.#closed = true;
      queueMicrotask(() => this.markEnded());
    }
    if (context.heartbeatIntervalMs > 0) {
      this.#timer = setInterval(() => this.write(heartbeat), context.heartbeatIntervalMs);
      this.#timer.unref();
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  write(text: string): boolean {
    const res = this.#res;
    if (this.#closed || res.writableEnded || res.destroyed) return false;
    res.write(text);
    if (res.writableLength > this.#context.maxBufferedBytes) {
      this.#context.log(
        'info',
        `SSE stream ${this.id}: client is ${res.writableLength} bytes behind (maxBufferedBytes ${this.#context.maxBufferedBytes}); closing it`,
      );
      res.destroy();
      this.markEnded();
      return false;
    }
    return true;
  }

  close(): void {
    if (this.hasEnded) return;
    if (!this.#res.writableEnded) this.#res.end();
    this.markEnded();
  }

  deliver(message: PublishedMessage): void {
    this.write(message.sseText(encodePublished));
  }

  protected override release(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    super.release();
    this.#context.streams.delete(this);
  }
}

/** The response head of an event stream: the caller's headers, then the ones SSE needs. */
export function sseHeaders(headers: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!.toLowerCase();
    if (
      name === 'content-type' ||
      name === 'content-length' ||
      name === 'transfer-encoding' ||
      name === 'content-encoding'
    ) {
      continue;
    }
    out.push(headers[i]!, headers[i + 1]!);
  }
  out.push(
    'Content-Type',
    'text/event-stream; charset=utf-8',
    'Cache-Control',
    'no-cache, no-transform',
    'X-Accel-Buffering',
    'no',
  );
  return out;
}
