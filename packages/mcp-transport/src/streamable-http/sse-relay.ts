import type { Request } from '@mummyx/core';
import { SseDecoder } from '../sse-decoder.js';

/** Longest line a relayed stream may hold: one JSON-RPC message (a large tool result) is one line. */
const maxRelayedLineLength = 64 * 1024 * 1024;

/**
 * Relays a fetch handler's `text/event-stream` Response through the
 * server's own SSE stream (`respondSSE`). Worker threads cannot stream an
 * arbitrary body yet, but their SSE streams work, so a 2026-era answer that
 * streams (progress, logs, a `subscriptions/listen` stream) is decoded here
 * and its events and comments sent on again. When the client leaves, the
 * body is cancelled, which the SDK takes as cancelling the request (the
 * tool's signal aborts; a listen stream unsubscribes).
 */
export function relayEventStream(
  request: Request,
  response: Response,
  headers: Record<string, string>,
  log: (message: string) => void,
): void {
  const stream = request.respondSSE({ headers });
  const body = response.body;
  if (body === null) {
    stream.close();
    return;
  }
  const reader = body.getReader();
  stream.onClose(() => {
    void reader.cancel().catch(() => {});
  });
  const decoder = new SseDecoder(maxRelayedLineLength);
  void (async () => {
    try {
      for (;;) {
        const read = await reader.read();
        if (read.done || stream.closed) break;
        for (const item of decoder.push(read.value as Uint8Array)) {
          if (item.kind === 'comment') stream.comment(item.text);
          else {
            stream.send({
              data: item.data,
              ...(item.event === undefined ? {} : { event: item.event }),
              ...(item.id === undefined ? {} : { id: item.id }),
              ...(item.retry === undefined ? {} : { retry: item.retry }),
            });
          }
        }
      }
    } catch (error) {
      log(`relaying an event stream failed: ${String(error)}`);
    } finally {
      void reader.cancel().catch(() => {});
      stream.close();
    }
  })();
}
