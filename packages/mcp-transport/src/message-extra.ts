import { toWebRequest, type Request } from '@mummyx/core';
import { authInfoOf } from './auth.js';
import type { MessageExtraInfo } from './mcp-types.js';

/**
 * What the MCP server learns about the HTTP request that carried a message,
 * for both SDK lines: `requestInfo` (headers and URL, read by SDK 1.x),
 * `request` (a body-less web Request, read by SDK 2.x as `ctx.http.req`;
 * made on first read, so SDK 1.x servers never pay for it) and `authInfo`.
 */
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
  let web: globalThis.Request | undefined | null = null;
  return {
    requestInfo: { headers, ...(url === undefined ? {} : { url }) },
    ...(auth === undefined ? {} : { authInfo: auth }),
    get request(): globalThis.Request | undefined {
      if (web === null) web = toWebRequest(request, { body: false });
      return web;
    },
  };
}
