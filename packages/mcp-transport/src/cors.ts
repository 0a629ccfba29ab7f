import type { Request } from '@mummyx/core';

export interface CorsOptions {
  /**
   * Origins allowed to read responses; `'*'` for any. These origins also pass
   * the Origin check (DNS-rebinding protection) unless `allowedOrigins` is
   * given.
   */
  origins: readonly string[] | '*';
  /** How long browsers may cache a preflight, in seconds. Default 600. */
  maxAgeSeconds?: number;
}

/** Response headers a browser client must be able to read. */
const exposedHeaders = 'Mcp-Session-Id, MCP-Protocol-Version, WWW-Authenticate';

/**
 * Request headers MCP clients send, in both eras: the 2025 session and
 * resumption headers, the 2026-07-28 routing headers (`Mcp-Method`,
 * `Mcp-Name`; `Mcp-Param-*` are added as asked), and credentials.
 */
const allowedHeaders = [
  'Content-Type',
  'Accept',
  'Authorization',
  'MCP-Protocol-Version',
  'Mcp-Session-Id',
  'Mcp-Method',
  'Mcp-Name',
  'Last-Event-ID',
];

/** A `Mcp-Param-<Name>` header name (x-mcp-header arguments): token characters only. */
const paramHeader = /^mcp-param-[!#$%&'*+\-.^_`|~0-9a-z]+$/i;

/** Most `Mcp-Param-*` names one preflight is answered for. */
const maxParamHeaders = 64;

/**
 * The CORS headers of a response to `request`: none when CORS is off, the
 * request has no `Origin`, or its origin is not allowed. `Mcp-Session-Id`
 * and `MCP-Protocol-Version` are exposed so a browser client can read them.
 */
export function corsHeaders(request: Request, cors: CorsOptions | undefined): Record<string, string> {
  const origin = request.headers.get('origin');
  if (cors === undefined || origin === undefined) return {};
  if (cors.origins !== '*' && !cors.origins.includes(origin)) return {};
  return {
    'Access-Control-Allow-Origin': cors.origins === '*' ? '*' : origin,
    'Access-Control-Expose-Headers': exposedHeaders,
    ...(cors.origins === '*' ? {} : { Vary: 'Origin' }),
  };
}

/**
 * Answers a preflight `OPTIONS`: 204 with the allowed methods and headers
 * (the `Mcp-Param-*` names the browser asks for among them), or 403 for an
 * origin not allowed.
 */
export function respondPreflight(request: Request, cors: CorsOptions | undefined): void {
  const headers = corsHeaders(request, cors);
  if (headers['Access-Control-Allow-Origin'] === undefined) {
    request.respond(403, { 'Content-Type': 'text/plain' }, 'Forbidden: origin not allowed by CORS');
    return;
  }
  const asked = (request.headers.get('access-control-request-headers') ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => paramHeader.test(name))
    .slice(0, maxParamHeaders);
  request.respond(204, {
    ...headers,
    'Access-Control-Allow-Methods': 'GET, POST, DELETE, OPTIONS',
    'Access-Control-Allow-Headers': [...allowedHeaders, ...asked].join(', '),
    'Access-Control-Max-Age': String(cors?.maxAgeSeconds ?? 600),
  });
}
