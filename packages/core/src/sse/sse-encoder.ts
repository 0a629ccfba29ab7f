import { MxError } from '../errors.js';

/** One server-sent event (WHATWG HTML, "Server-sent events"). */
export interface SseEvent {
  /** Event type; the client's `addEventListener(type)` receives it. Default `message`. */
  event?: string;
  /** Sets the client's last event ID, sent back as `Last-Event-ID` when it reconnects. */
  id?: string;
  /** Reconnection delay the client should use, in milliseconds. */
  retry?: number;
  /** The payload. Lines are split on CRLF, CR and LF; each becomes one `data:` line. */
  data?: string;
}

const lineBreak = /\r\n|\r|\n/;

function checkSingleLine(field: string, value: string): void {
  if (value.includes('\r') || value.includes('\n')) {
    throw new MxError('MX_ERR_SSE_FIELD_INVALID', `${field} must not contain CR or LF`);
  }
}

/**
 * Encodes one event. Field order: event, id, retry, data. Every data line is
 * written as `data: ` plus the line (the one space is what a parser strips, so
 * leading spaces in the data survive), and the event ends with a blank line.
 * An event with no data still gets one empty `data:` line so the client
 * dispatches it. Throws `MX_ERR_SSE_FIELD_INVALID` for CR or LF in `event` or
 * `id` (they would inject fields), NUL in `id` (the client ignores such an
 * id), or a `retry` that is not a non-negative integer.
 */
export function encodeSseEvent(event: SseEvent): string {
  let out = '';
  if (event.event !== undefined) {
    checkSingleLine('event', event.event);
    out += `event: ${event.event}\n`;
  }
  if (event.id !== undefined) {
    checkSingleLine('id', event.id);
    if (event.id.includes('\0')) throw new MxError('MX_ERR_SSE_FIELD_INVALID', 'id must not contain NUL');
    out += `id: ${event.id}\n`;
  }
  if (event.retry !== undefined) {
    if (!Number.isSafeInteger(event.retry) || event.retry < 0) {
      throw new MxError('MX_ERR_SSE_FIELD_INVALID', `retry must be a non-negative integer, got ${String(event.retry)}`);
    }
    out += `retry: ${event.retry}\n`;
  }
  const data = event.data ?? '';
  if (event.data !== undefined || out === '' || event.event !== undefined || event.id !== undefined) {
    for (const line of data.split(lineBreak)) out += `data: ${line}\n`;
  }
  return `${out}\n`;
}

/**
 * Encodes a comment (`: text`), which clients ignore; used for heartbeats.
 * Throws `MX_ERR_SSE_FIELD_INVALID` when the text contains CR or LF.
 */
export function encodeSseComment(text = ''): string {
  checkSingleLine('comment', text);
  return text === '' ? ':\n\n' : `: ${text}\n\n`;
}
