import { pathToFileURL } from 'node:url';
import { MxError } from '../errors.js';
import type { RequestHandler, Router } from '../router/router.js';
import type { WebSocketHandler } from '../websocket/websocket.js';

/**
 * What the app module of a threaded server exports (`createServer({ app, threads })`):
 * its Router as `router`, or its request handler as `handler`, or either as the
 * default export; and its WebSocket handler as `websocketHandler`, if it has
 * one. Every worker imports the module, and so does the IO thread (for routes
 * pinned `inline`): functions cannot cross threads, modules can. A Router is
 * recognised by its `handle` and `match` methods, so an app may load its own
 * copy of this package.
 */
export interface AppModule {
  router?: Router;
  handler?: RequestHandler;
  default?: Router | RequestHandler;
  websocketHandler?: WebSocketHandler;
}

export interface LoadedApp {
  handler: RequestHandler;
  /** The router, when the module exported one (the IO thread uses it for inline routes). */
  router: Router | undefined;
  /** The module's `websocketHandler` export, if any. */
  websocketHandler: WebSocketHandler | undefined;
}

/** Normalises `app` (URL, file URL string or path) to a URL string for `import()`. */
export function appUrlOf(app: URL | string): string {
  if (app instanceof URL) return app.href;
  return /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(app) && !/^[a-zA-Z]:[\\/]/.test(app) ? app : pathToFileURL(app).href;
}

/**
 * Imports an app module: it exports `router` (a Router) or `handler` (a
 * function), or a default export of either.
 */
export async function loadApp(url: string): Promise<LoadedApp> {
  const module = (await import(url)) as Record<string, unknown>;
  const websocket = module['websocketHandler'];
  if (websocket !== undefined && typeof websocket !== 'function') {
    throw new MxError('MX_ERR_APP_INVALID', `${url}: websocketHandler must be a function`);
  }
  const websocketHandler = websocket as WebSocketHandler | undefined;
  for (const candidate of [module['router'], module['handler'], module['default']]) {
    // Duck-typed: the app may have loaded its own copy of @mummyx/core.
    if (isRouter(candidate)) return { handler: candidate.handle, router: candidate, websocketHandler };
    if (typeof candidate === 'function') {
      return { handler: candidate as RequestHandler, router: undefined, websocketHandler };
    }
  }
  throw new MxError('MX_ERR_APP_INVALID', `${url} exports ${Object.keys(module).join(', ') || 'nothing'}`);
}

function isRouter(value: unknown): value is Router {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Router).handle === 'function' &&
    typeof (value as Router).match === 'function'
  );
}
