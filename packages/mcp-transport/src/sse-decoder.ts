/** One decoded server-sent event, or a comment line. */
export type DecodedEvent =
  | { kind: 'event'; event: string | undefined; id: string | undefined; retry: number | undefined; data: string }
  | { kind: 'comment'; text: string };

/**
 * Decodes a `text/event-stream` body as the WHATWG rules read it: lines end
 * with CRLF, LF or CR; `field: value` (one space after the colon dropped);
 * `data` lines joined with LF; a blank line dispatches; a line starting with
 * `:` is a comment. Events that hold no field are dropped. A line longer than
 * `maxLineBytes` (counted in UTF-16 units) throws: nothing a client can grow
 * is unbounded.
 */
export class SseDecoder {
  readonly #maxLineLength: number;
  readonly #text = new TextDecoder();
  #buffer = '';
  /** The previous chunk ended with CR: an LF starting this one belongs to it. */
  #afterCr = false;
  #event: string | undefined;
  #id: string | undefined;
  #retry: number | undefined;
  #data: string[] = [];
  #hasField = false;

  constructor(maxLineLength: number) {
    this.#maxLineLength = maxLineLength;
  }

  /** The events and comments completed by `chunk`. */
  push(chunk: Uint8Array | string): DecodedEvent[] {
    let text = typeof chunk === 'string' ? chunk : this.#text.decode(chunk, { stream: true });
    if (this.#afterCr && text.startsWith('\n')) text = text.slice(1);
    this.#afterCr = false;
    this.#buffer += text;
    const out: DecodedEvent[] = [];
    let start = 0;
    for (;;) {
      const cr = this.#buffer.indexOf('\r', start);
      const lf = this.#buffer.indexOf('\n', start);
      if (cr < 0 && lf < 0) break;
      const end = cr < 0 ? lf : lf < 0 ? cr : Math.min(cr, lf);
      this.#line(this.#buffer.slice(start, end), out);
      if (end === cr && this.#buffer.charCodeAt(end + 1) === 0x0a) start = end + 2;
      else if (end === cr && end + 1 === this.#buffer.length) {
        this.#afterCr = true;
        start = end + 1;
      } else start = end + 1;
    }
    this.#buffer = this.#buffer.slice(start);
    if (this.#buffer.length > this.#maxLineLength) {
      throw new RangeError(`an event-stream line is longer than ${this.#maxLineLength}`);
    }
    return out;
  }

  #line(line: string, out: DecodedEvent[]): void {
    if (line === '') {
      if (this.#hasField) {
        out.push({ kind: 'event', event: this.#event, id: this.#id, retry: this.#retry, data: this.#data.join('\n') });
      }
      this.#event = undefined;
      this.#id = undefined;
      this.#retry = undefined;
      this.#data = [];
      this.#hasField = false;
      return;
    }
    if (line.startsWith(':')) {
      out.push({ kind: 'comment', text: line.slice(1).replace(/^ /, '') });
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    switch (field) {
      case 'event':
        this.#event = value;
        break;
      case 'data':
        this.#data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.#id = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.#retry = Number(value);
        break;
      default:
        return;
    }
    this.#hasField = true;
  }
}
