// Helpers shared by the threads-*.test.ts files: a threaded server on the
// fixture app, a node:http client that returns whole responses, and polling.
import { Agent, request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { createServer, type Server, type ServerOptions } from '@mummyx/core';

/** The fixture app every threaded test runs (compiled next to this file). */
export const appUrl = new URL('./fixtures/threads-app.js', import.meta.url);

export interface Threaded {
  server: Server;
  port: number;
  url: string;
  /** Every log line the server emitted at `error` level, as `level: message`. */
  logs: string[];
}

/** Starts a threaded server on 127.0.0.1:0 and closes it when the test ends. */
export async function startThreaded(t: TestContext, options: ServerOptions): Promise<Threaded> {
  const logs: string[] = [];
  const server = createServer({
    app: appUrl,
    logLevel: 'error',
    logHandler: (level, message) => logs.push(`${level}: ${message}`),
    ...options,
  });
  t.after(() => server.close());
  const address = await server.listen(0);
  return { server, port: address.port, url: address.url, logs };
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Milliseconds from sending to the end of the response. */
  ms: number;
  /** performance.now() when the response ended. */
  endedAt: number;
  socket: Socket;
}

export interface SendOptions {
  method?: string;
  headers?: OutgoingHttpHeaders;
  body?: string | Buffer;
  /** Default `false`: a fresh connection per request, closed afterwards. */
  agent?: Agent | false;
  /** The request fails (rejects) when no whole response came in this time. Default 10 000. */
  timeoutMs?: number;
}

/** Sends one request with node:http and collects the whole response. */
export function send(port: number, path: string, options: SendOptions = {}): Promise<Reply> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      path,
      method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
      headers: options.headers,
      agent: options.agent ?? false,
    });
    req.setTimeout(options.timeoutMs ?? 10_000, () =>
      req.destroy(new Error(`no response to ${path} within ${options.timeoutMs ?? 10_000} ms`)),
    );
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const endedAt = performance.now();
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          ms: endedAt - started,
          endedAt,
          socket: req.socket!,
        });
      });
    });
    req.end(options.body);
  });
}

/** Where the fixture's /where route ran. */
export interface Where {
  isMainThread: boolean;
  threadId: number;
}

/** A reply's body parsed as JSON. */
export function jsonOf<T = Where>(reply: Reply): T {
  return JSON.parse(reply.body.toString()) as T;
}

/** Polls `probe` until it returns true; rejects naming `what` after `timeoutMs`. */
export async function waitFor(what: string, probe: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!probe()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(10);
  }
}

/** The pool figures; fails the test when the server runs inline. */
export function poolOf(server: Server): NonNullable<ReturnType<Server['stats']>['pool']> {
  const pool = server.stats().pool;
  if (pool === undefined) throw new Error('server has no worker pool');
  return pool;
}

/**
 * Runs `total` jobs over `lanes` concurrent lanes: each lane takes the next
 * index as soon as its previous job finished.
 */
export async function runLanes(lanes: number, total: number, job: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < total) await job(next++);
  };
  await Promise.all(Array.from({ length: lanes }, lane));
}
