import type { Request } from '@mummyx/core';

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** The host name of a Host header or URL authority, lower-cased, without the port. */
export function hostnameOf(authority: string): string {
  const value = authority.trim().toLowerCase();
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    return end < 0 ? value : value.slice(0, end + 1);
  }
  const colon = value.indexOf(':');
  return colon < 0 ? value : value.slice(0, colon);
}

export function isLoopbackHost(authority: string): boolean {
  return loopbackHosts.has(hostnameOf(authority));
}

export interface GuardOptions {
  /** Host names (or `host:port`) accepted in `Host`; `'*'` accepts any. Default: loopback names only. */
  allowedHosts?: readonly string[] | '*' | undefined;
  /** Exact origins accepted in `Origin`; `'*'` accepts any. Default: loopback origins and the request's own host. */
  allowedOrigins?: readonly string[] | '*' | undefined;
  /** CORS settings: when `allowedOrigins` is not given, the origins CORS allows are accepted too. */
  cors?: { origins: readonly string[] | '*' } | undefined;
}

/**
 * DNS-rebinding protection: the reason a request must be refused with 403,
 * or undefined when its Host and Origin are acceptable. A request without
 * Origin comes from a non-browser client and is not checked for it.
 */
export function refusalReason(request: Request, options: GuardOptions): string | undefined {
  const host = request.headers.get('host');
  if (options.allowedHosts !== '*') {
    if (host === undefined) return 'Forbidden: missing Host header';
    const allowed =
      options.allowedHosts === undefined
        ? isLoopbackHost(host)
        : options.allowedHosts.some((entry) => {
            const lower = entry.toLowerCase();
            return lower === host.toLowerCase() || lower === hostnameOf(host);
          });
    if (!allowed) {
      return `Forbidden: Host ${host} is not allowed (DNS rebinding protection; set allowedHosts to serve other names)`;
    }
  }
  const origin = request.headers.get('origin');
  if (origin === undefined || options.allowedOrigins === '*') return undefined;
  if (options.allowedOrigins !== undefined) {
    return options.allowedOrigins.includes(origin) ? undefined : `Forbidden: Origin ${origin} is not allowed`;
  }
  const corsOrigins = options.cors?.origins;
  if (corsOrigins === '*' || corsOrigins?.includes(origin) === true) return undefined;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return `Forbidden: Origin ${origin} is not allowed`;
  }
  if (isLoopbackHost(url.host)) return undefined;
  if (host !== undefined && url.host.toLowerCase() === host.toLowerCase()) return undefined;
  return `Forbidden: Origin ${origin} is not allowed`;
}
