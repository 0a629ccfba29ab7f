import type { Request } from '@mummyx/core';
import { ErrorCode, respondError } from './json-rpc.js';
import type { AuthInfo } from './mcp-types.js';

export interface AuthOptions {
  /** Checks credentials and returns what tools see as `extra.authInfo`; undefined (or a throw) refuses. */
  authenticate?: ((request: Request) => AuthInfo | undefined | Promise<AuthInfo | undefined>) | undefined;
  /** Protected Resource Metadata URL, named in `WWW-Authenticate` on a 401. */
  resourceMetadataUrl?: string | undefined;
}

/** Auth results of admitted requests, for their messages' `extra.authInfo`. */
const authOf = new WeakMap<Request, AuthInfo>();

/**
 * Runs the `authenticate` hook on a request. Resolves true when the request
 * may go on (its `AuthInfo` kept for `authInfoOf`); otherwise it has been
 * answered 401 with `WWW-Authenticate` and `headers` (CORS), and resolves false.
 * Without a hook every request goes on.
 */
export async function checkCredentials(
  request: Request,
  options: AuthOptions,
  headers: Record<string, string>,
  log: (message: string) => void,
): Promise<boolean> {
  if (options.authenticate === undefined) return true;
  let auth: AuthInfo | undefined;
  try {
    auth = await options.authenticate(request);
  } catch (error) {
    log(`authenticate threw: ${String(error)}`);
    auth = undefined;
  }
  if (auth === undefined) {
    const metadata = options.resourceMetadataUrl;
    respondError(request, 401, ErrorCode.ConnectionClosed, 'Unauthorized: missing or invalid credentials', {
      'WWW-Authenticate':
        metadata === undefined ? 'Bearer' : `Bearer resource_metadata="${metadata.replace(/"/g, '%22')}"`,
      ...headers,
    });
    return false;
  }
  authOf.set(request, auth);
  return true;
}

/** What `authenticate` returned for an admitted request. */
export function authInfoOf(request: Request): AuthInfo | undefined {
  return authOf.get(request);
}
