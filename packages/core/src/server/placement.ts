import type { RouteMatch } from '../router/router.js';

/**
 * Where a request runs:
 * - `inline`: on the IO thread — every request in inline mode, and routes
 *   pinned `{ inline: true }` in threaded mode;
 * - `streamed`: a stream-bodied route, on the IO thread too; a request with a
 *   body gets it as it arrives (`request.bodyStream`), never buffered;
 * - `session`: a route with a `session` option, in threaded mode: the worker
 *   its key is bound to (SessionRouting);
 * - `pool`: every other request in threaded mode: the first free worker (Scheduler).
 */
export type Placement = 'inline' | 'streamed' | 'session' | 'pool';

/**
 * The one place that decides where a request runs, from its one match
 * against the app's router. `found` is undefined when nothing was matched:
 * the server has no router with routes that run on the IO thread or route by
 * session, or there was nothing to decide (inline mode, no body).
 */
export function placementOf(found: RouteMatch | undefined, threaded: boolean): Placement {
  if (found === undefined || found.kind !== 'route') return threaded ? 'pool' : 'inline';
  const options = found.route.options;
  if (options.body === 'stream') return 'streamed';
  if (!threaded || options.inline === true) return 'inline';
  return options.session === undefined ? 'pool' : 'session';
}
