import type { Request } from '@mummyx/core';

/** The header that names a Streamable HTTP session: sent in the answer to `initialize`, then by the client. */
export const sessionIdHeader = 'Mcp-Session-Id';

/** The session a request names in `Mcp-Session-Id`, if any. */
export function sessionIdOf(request: Request): string | undefined {
  return request.headers.get(sessionIdHeader);
}
