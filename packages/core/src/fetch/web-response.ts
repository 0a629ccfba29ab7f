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
