import type { Request } from '@mummyx/core';

export interface CorsOptions {
  /** Origins allowed to read responses; `'*'` for any. */
  origins: readonly string[] | '*';
  /** How long browsers may cache a preflight, in seconds. Default 600. */
  maxAgeSeconds?: number;
}

/**
 * The CORS headers of a response to `request`: none when CORS is off, the
 * request has no `Origin`, or its origin is not allowed. `Mcp-Session-Id`
 * is exposed so a browser client can read its session.
 */
export function corsHeaders(request: Request, cors: CorsOptions | undefined): Record<string, string> {
  const origin = request.headers.get('origin');
  if (cors === undefined || origin === undefined) return {};
  if (cors.origins !== '*' && !cors.origins.includes(origin)) return {};
  return {
    'Access-Control-Allow-Origin': cors.origins === '*' ? '*' : origin,
    'Access-Control-Expose-Headers': 'Mcp-Session-Id, MCP-Protocol-Version, WWW-Authenticate',
    ...(cors.origins === '*' ? {} : { Vary: 'Origin' }),
  };
}

/** Answers a preflight `OPTIONS`: 204 with the allowed methods and headers, or 403 for an origin not allowed. */
export function respondPreflight(request: Request, cors: CorsOptions | undefined): void {
  const headers = corsHeaders(request, cors);
  if (headers['Access-Control-Allow-Origin'] === undefined) {
    request.respond(403, { 'Content-Type': 'text/plain' }, 'Forbidden: origin not allowed by CORS');
    return;
  }
  request.respond(204, {
    ...headers,
    'Access-Control-Allow-Methods': 'GET, POST, DELETE, OPTIONS',
    'Access-Control-Allow-Headers':
      'Content-Type, Accept, Authorization, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID',
    'Access-Control-Max-Age': String(cors?.maxAgeSeconds ?? 600),
  });
}
