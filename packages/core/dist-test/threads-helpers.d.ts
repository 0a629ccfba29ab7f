import { Agent, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { type Server, type ServerOptions } from '@mummyx/core';
/** The fixture app every threaded test runs (compiled next to this file). */
export declare const appUrl: import("url").URL;
export interface Threaded {
    server: Server;
    port: number;
    url: string;
    /** Every log line the server emitted at `error` level, as `level: message`. */
    logs: string[];
}
/** Starts a threaded server on 127.0.0.1:0 and closes it when the test ends. */
export declare function startThreaded(t: TestContext, options: ServerOptions): Promise<Threaded>;
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
export declare function send(port: number, path: string, options?: SendOptions): Promise<Reply>;
/** Polls `probe` until it returns true; rejects naming `what` after `timeoutMs`. */
export declare function waitFor(what: string, probe: () => boolean, timeoutMs?: number): Promise<void>;
/** The pool figures; fails the test when the server runs inline. */
export declare function poolOf(server: Server): NonNullable<ReturnType<Server['stats']>['pool']>;
/**
 * Runs `total` jobs over `lanes` concurrent lanes: each lane takes the next
 * index as soon as its previous job finished.
 */
export declare function runLanes(lanes: number, total: number, job: (index: number) => Promise<void>): Promise<void>;
