import type { TestContext } from 'node:test';
import { type RequestHandler, type Router, type Server, type ServerOptions } from '@mummyx/core';
export interface Started {
    server: Server;
    port: number;
    url: string;
}
/** Starts a server on 127.0.0.1:0 and closes it when the test ends. */
export declare function start(t: TestContext, handler: RequestHandler | Router, options?: ServerOptions): Promise<Started>;
export interface RawOptions {
    /** Half-close after writing and wait for the server to close. Default: wait `idleMs` of silence. */
    idleMs?: number;
    timeoutMs?: number;
}
/**
 * Writes raw bytes to the server and collects everything it answers until it
 * closes the connection or stays silent for `idleMs`.
 */
export declare function rawRequest(port: number, bytes: string | Buffer, options?: RawOptions): Promise<{
    text: string;
    closed: boolean;
}>;
/** The status code of the first response in a raw answer. */
export declare function statusOf(text: string): number;
