import type { Request } from '@mummyx/core';
import { authInfoOf } from './auth.js';
import type { MessageExtraInfo } from './mcp-types.js';

/** What the MCP server learns about the HTTP request that carried a message: its headers, URL and `authInfo`. */
export function messageExtra(request: Request): MessageExtraInfo {
  const headers: Record<string, string> = {};
  for (const [name, value] of request.headers) {
    const lower = name.toLowerCase();
    headers[lower] = headers[lower] === undefined ? value : `${headers[lower]}, ${value}`;
  }
  const host = request.headers.get('host') ?? 'localhost';
  let url: URL | undefined;
  try {
    url = new URL(request.uri, `http://${host}`);
  } catch {
    url = undefined;
  }
  const auth = authInfoOf(request);
  return {
    requestInfo: { headers, ...(url === undefined ? {} : { url }) },
    ...(auth === undefined ? {} : { authInfo: auth }),
  };
}
