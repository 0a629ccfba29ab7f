/** The request target split into a decoded path and the raw query. */
export interface RequestTarget {
  path: string;
  search: string;
}

/**
 * Splits a request target (RFC 9112 §3.2): origin-form `/p?q`, absolute-form
 * `http://host/p?q`, asterisk-form `*` and authority-form `host:port`.
 * The path is percent-decoded; `undefined` means the encoding is malformed.
 */
export function parseRequestTarget(uri: string): RequestTarget | undefined {
  let start = 0;
  if (uri.charCodeAt(0) !== 47 /* / */) {
    if (uri === '*') return { path: '*', search: '' };
    const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.exec(uri);
    if (scheme === null) return { path: uri, search: '' };
    const slash = uri.indexOf('/', scheme[0].length);
    const query = uri.indexOf('?', scheme[0].length);
    if (slash === -1 || (query !== -1 && query < slash)) {
      return { path: '/', search: query === -1 ? '' : stripFragment(uri.slice(query + 1)) };
    }
    start = slash;
  }
  let end = uri.length;
  const hash = uri.indexOf('#', start);
  if (hash !== -1) end = hash;
  const query = uri.indexOf('?', start);
  let rawPath: string;
  let search = '';
  if (query !== -1 && query < end) {
    rawPath = uri.slice(start, query);
    search = uri.slice(query + 1, end);
  } else {
    rawPath = start === 0 && end === uri.length ? uri : uri.slice(start, end);
  }
  if (!rawPath.includes('%')) return { path: rawPath, search };
  try {
    return { path: decodeURIComponent(rawPath), search };
  } catch {
    return undefined;
  }
}

function stripFragment(value: string): string {
  const hash = value.indexOf('#');
  return hash === -1 ? value : value.slice(0, hash);
}
