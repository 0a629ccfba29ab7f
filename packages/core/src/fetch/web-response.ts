/**
 * A web `Response`'s headers as the flat `[name, value, …]` list `respond()` takes. Names
 * come lower-case (web `Headers` keep no case); each `Set-Cookie` stays its own field (it
 * cannot be joined with commas), after the others. `Transfer-Encoding` is dropped: how the
 * body is framed on this connection is the server's to decide.
 */
export function flatHeadersOf(headers: Headers): string[] {
  const raw: string[] = [];
  let hasCookies = false;
  headers.forEach((value, name) => {
    if (name === 'set-cookie') hasCookies = true;
    else if (name !== 'transfer-encoding') raw.push(name, value);
  });
  if (hasCookies) {
    // getSetCookie() keeps the fields apart; a Headers without it (a polyfill) gives them joined.
    const cookies = typeof headers.getSetCookie === 'function' ? headers.getSetCookie() : [headers.get('set-cookie')!];
    for (const cookie of cookies) raw.push('set-cookie', cookie);
  }
  return raw;
}

/** True for a `text/event-stream` media type, whatever its case and parameters. */
export function isEventStream(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const semicolon = contentType.indexOf(';');
  const type = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim();
  return type.length === 17 && type.toLowerCase() === 'text/event-stream';
}

/**
 * One chunk of a response body as bytes. The Fetch standard allows only `Uint8Array`
 * chunks; strings are taken too (as UTF-8), since streams built by hand often carry them.
 * Anything else throws a TypeError, which ends the response.
 */
export function chunkBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') return Buffer.from(value);
  throw new TypeError(`a response body chunk must be a Uint8Array, got ${describeValue(value)}`);
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value.constructor as { name?: string } | undefined)?.name ?? 'an object';
  return typeof value;
}
