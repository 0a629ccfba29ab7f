import type { Request } from '../http/request.js';
import { RoutePattern } from './route-pattern.js';

/** Handles one request. Respond before returning, or before the returned promise settles. */
export type RequestHandler = (request: Request) => void | Promise<void>;
export type ErrorHandler = (request: Request, error: unknown) => void | Promise<void>;
export type MethodNotAllowedHandler = (request: Request, allowedMethods: readonly string[]) => void | Promise<void>;

export interface RouteOptions {
  /**
   * Run this route's handler on the IO thread even when the server has worker
   * threads (health checks, cheap lookups). It must not block. Default false.
   */
  inline?: boolean;
  /**
   * Sticky sessions for threaded servers: returns the session key a request
   * belongs to (a header, a query parameter), `undefined` when it has none
   * yet, or `false` when it belongs to no session at all. It runs on the IO
   * thread, must be cheap and must not throw. A request whose key is bound
   * (`request.bindSession(key)`) goes to the worker holding the binding, even
   * while that worker is busy; one without a bound key goes to the worker
   * holding the fewest sessions, so sessions spread over the pool (an elastic
   * pool grows rather than doubling sessions up); one with `false` runs as on
   * a route without the option, on the first free worker. Ignored inline,
   * where every request runs on the IO thread.
   */
  session?: (request: Request) => string | undefined | false;
  /**
   * How the handler receives the body. `'buffer'` (default): whole, as
   * `request.body`, capped by the server's `maxBodyBytes`. `'stream'`: as it
   * arrives, as `request.bodyStream` (a Readable with back-pressure: the
   * client is slowed down while the handler does not read), never held whole
   * in memory and not subject to `maxBodyBytes` — use `maxStreamBytes`.
   *
   * Threading: a stream-bodied route always runs on the IO thread, like an
   * `inline` route, even when the server has worker threads. Uploads are
   * IO-bound (socket to disk), so they go straight to disk there without
   * copying every chunk to a worker. The handler must not block; hand
   * CPU-heavy work on the stored file to a worker-run route afterwards.
   */
  body?: 'buffer' | 'stream';
  /**
   * Stream-bodied routes only: the most body bytes accepted. A larger
   * `Content-Length` gets 413 before the handler runs; a chunked body that
   * grows past it gets 413 and `bodyStream` fails with an `MxError` whose
   * `code` is `MX_ERR_BODY_TOO_LARGE` (status 413). Default: no limit.
   */
  maxStreamBytes?: number;
}

export interface Route {
  /** Upper-case method, or `*` for `any`. */
  readonly method: string;
  readonly pattern: RoutePattern;
  readonly handler: RequestHandler;
  readonly options: Readonly<RouteOptions>;
  /** Registration order. */
  readonly index: number;
}

export type RouteMatch =
  | { kind: 'route'; route: Route; pathParams: Record<string, string> }
  | { kind: 'method-not-allowed'; allowedMethods: string[] }
  | { kind: 'not-found' };

const notFoundResult: RouteMatch = { kind: 'not-found' };

/**
 * Routes requests by method and decoded path. When several routes match, the
 * most specific wins (literal segments before partial wildcards, before `*`
 * and parameters, before `**`), then the one added first. HEAD uses the GET
 * route when there is no HEAD route; the body is never sent. A path that
 * matches with another method gets `methodNotAllowed` (405 with `Allow`),
 * anything else `notFound` (404). Errors thrown by handlers go to `error`
 * when set, otherwise the server answers 500.
 *
 * The path is matched after percent-decoding, so `%2F` separates segments.
 */
export class Router {
  notFound: RequestHandler = (request) => {
    request.respond(404, { 'Content-Type': 'text/html; charset=utf-8' }, '<h1>Not Found</h1>');
  };
  methodNotAllowed: MethodNotAllowedHandler = (request, allowedMethods) => {
    request.respond(
      405,
      { 'Content-Type': 'text/html; charset=utf-8', Allow: allowedMethods.join(', ') },
      '<h1>Method Not Allowed</h1>',
    );
  };
  error: ErrorHandler | undefined;

  readonly #literal = new Map<string, Route[]>();
  readonly #patterns: Route[] = [];
  #sorted = true;
  #count = 0;

  get(route: string, handler: RequestHandler, options?: RouteOptions): this {
    return this.add('GET', route, handler, options);
  }
  head(route: string, handler: RequestHandler, options?: RouteOptions): this {
    return this.add('HEAD', route, handler, options);
  }
  post(route: string, handler: RequestHandler, options?: RouteOptions): this {
    return this.add('POST', route, handler, options);
  }
  put(route: string, handler: RequestHandler, options?: RouteOptions): this {
    return this.add('PUT', route, handler, options);
  }
  patch(route: string, handler: RequestHandler, options?: RouteOptions): this {
    return this.add('PATCH', route, handler, options);
  }
  delete(route: string, handler: RequestHandler, options?: RouteOptions): this {
    return this.add('DELETE', route, handler, options);
  }
  options(route: string, handler: RequestHandler, options?: RouteOptions): this {
    return this.add('OPTIONS', route, handler, options);
  }
  /** Matches every method. */
  any(route: string, handler: RequestHandler, options?: RouteOptions): this {
    return this.add('*', route, handler, options);
  }

  /** Adds a route for `method` (case-sensitive, as on the wire; `*` for any). */
  add(method: string, route: string, handler: RequestHandler, options: RouteOptions = {}): this {
    if (typeof handler !== 'function') throw new TypeError(`handler for ${method} ${route} must be a function`);
    const pattern = new RoutePattern(route);
    const limit = options.maxStreamBytes;
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
      throw new TypeError(`maxStreamBytes for ${method} ${route} must be a non-negative integer`);
    }
    const entry: Route = { method, pattern, handler, options: { ...options }, index: this.#count++ };
    if (pattern.literalPath !== undefined) {
      const list = this.#literal.get(pattern.literalPath);
      if (list === undefined) this.#literal.set(pattern.literalPath, [entry]);
      else list.push(entry);
    } else {
      this.#patterns.push(entry);
      this.#sorted = false;
    }
    return this;
  }

  /** True when some route runs on the IO thread: pinned `inline`, or stream-bodied. */
  get hasInlineRoutes(): boolean {
    return this.routes.some(runsOnIoThread);
  }

  /** True when some route routes by `session`. */
  get hasSessionRoutes(): boolean {
    return this.routes.some((route) => route.options.session !== undefined);
  }

  /** Every route, in registration order. */
  get routes(): Route[] {
    return [...[...this.#literal.values()].flat(), ...this.#patterns].sort((a, b) => a.index - b.index);
  }

  /** Finds the route for a method and decoded path. Pure: runs no handler. */
  match(method: string, path: string): RouteMatch {
    const found = this.#find(method, path) ?? (method === 'HEAD' ? this.#find('GET', path) : undefined);
    if (found !== undefined) return found;
    const allowed = this.#allowedMethods(path);
    return allowed.length > 0 ? { kind: 'method-not-allowed', allowedMethods: allowed } : notFoundResult;
  }

  /** The request handler for this router; pass the router itself to `createServer` for the same. */
  readonly handle: RequestHandler = (request) => {
    const found = this.match(request.method, request.path);
    switch (found.kind) {
      case 'route':
        request.pathParams = found.pathParams;
        return this.#run(request, found.route.handler);
      case 'method-not-allowed':
        return this.#run(request, (r) => this.methodNotAllowed(r, found.allowedMethods));
      case 'not-found':
        return this.#run(request, this.notFound);
    }
  };

  #run(request: Request, handler: RequestHandler): void | Promise<void> {
    if (this.error === undefined) return handler(request);
    const onError = this.error;
    try {
      const result = handler(request);
      if (result !== undefined && typeof result.then === 'function') {
        return result.then(undefined, (error: unknown) => onError(request, error));
      }
      return result;
    } catch (error) {
      return onError(request, error);
    }
  }

  #find(method: string, path: string): RouteMatch | undefined {
    // Indexed loops: a worker thread runs this cold on each request, where an iterator costs more.
    const literal = this.#literal.get(path);
    if (literal !== undefined) {
      for (let i = 0; i < literal.length; i++) {
        const route = literal[i]!;
        if (route.method === method || route.method === '*') return { kind: 'route', route, pathParams: {} };
      }
    }
    const patterns = this.#patterns;
    if (patterns.length === 0) return undefined;
    if (!this.#sorted) {
      patterns.sort((a, b) => a.pattern.compareSpecificity(b.pattern) || a.index - b.index);
      this.#sorted = true;
    }
    for (let i = 0; i < patterns.length; i++) {
      const route = patterns[i]!;
      if (route.method !== method && route.method !== '*') continue;
      const pathParams = route.pattern.match(path);
      if (pathParams !== undefined) return { kind: 'route', route, pathParams };
    }
    return undefined;
  }

  #allowedMethods(path: string): string[] {
    const methods = new Set<string>();
    for (const route of this.#literal.get(path) ?? []) methods.add(route.method);
    for (const route of this.#patterns) {
      if (!methods.has(route.method) && route.pattern.match(path) !== undefined) methods.add(route.method);
    }
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods];
  }
}

/** Inline and stream-bodied routes run on the IO thread whatever the server's thread count. */
export function runsOnIoThread(route: Route): boolean {
  return route.options.inline === true || route.options.body === 'stream';
}
