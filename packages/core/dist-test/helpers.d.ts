import { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { type Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { type LogLevel, type RequestHandler, type Router, type Server, type ServerOptions } from '@mummyx/core';
export interface Started {
    server: Server;
    port: number;
    url: string;
}
/** Starts a server on 127.0.0.1:0 and closes it when the test ends. */
export declare function start(t: TestContext, handler: RequestHandler | Router, options?: ServerOptions): Promise<Started>;
export interface RawOptions {
    /** Stop when the server has been silent this long. Default 300. */
    idleMs?: number;
    /** Give up (and report `closed: false`) after this long. Default 5 000. */
    timeoutMs?: number;
    /**
     * Half-close after writing and wait for the server to close (or `timeoutMs`)
     * instead of stopping after `idleMs` of silence. Default false.
     */
    halfClose?: boolean;
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
/** One response parsed from raw bytes (latin1 text). */
export interface RawResponse {
    statusLine: string;
    status: number;
    /** Header fields in wire order, names as sent. */
    headers: Array<[string, string]>;
    body: string;
    /** The first value of a header, case-insensitive. */
    header(name: string): string | undefined;
    /** Every value of a header, in order. */
    headerAll(name: string): string[];
}
/**
 * Parses the response at the start of `text`. Returns `undefined` while the
 * head or the body is still incomplete. `bodyless` is for answers to HEAD.
 * Throws when the bytes are not a well-formed HTTP/1.x response.
 */
export declare function parseResponse(text: string, bodyless?: boolean): {
    response: RawResponse;
    rest: string;
} | undefined;
/** Parses every complete response in `text`; throws if bytes are left over. */
export declare function parseResponses(text: string): RawResponse[];
/** Parses a raw answer that must hold exactly one response. */
export declare function onlyResponse(text: string, bodyless?: boolean): RawResponse;
/**
 * A raw client connection kept open across requests, for keep-alive,
 * pipelining and interim responses. Closed when the test ends.
 */
export declare class RawConnection {
    #private;
    readonly socket: Socket;
    private constructor();
    static open(t: TestContext, port: number): Promise<RawConnection>;
    get isClosed(): boolean;
    /** Bytes received and not yet consumed by `readResponse`. */
    get pending(): string;
    write(bytes: string | Buffer): void;
    /** Waits for the next complete response. Rejects on close or after `timeoutMs`. */
    readResponse(options?: {
        bodyless?: boolean;
        timeoutMs?: number;
    }): Promise<RawResponse>;
    /** Resolves true once the server has closed the connection, false after `timeoutMs`. */
    waitClosed(timeoutMs?: number): Promise<boolean>;
    /** Waits for `ms`, then reports whether anything arrived meanwhile. */
    quietFor(ms: number): Promise<boolean>;
    destroy(): void;
}
export interface HttpResult {
    status: number;
    headers: IncomingHttpHeaders;
    rawHeaders: string[];
    /** The body exactly as it arrived (never decompressed). */
    body: Buffer;
}
/**
 * One request with node:http on its own connection (`agent: false`). Unlike
 * fetch, it shows the body as sent, compressed or not, and every header.
 */
export declare function httpGet(url: string, options?: {
    method?: string;
    headers?: OutgoingHttpHeaders;
    body?: string | Buffer;
    timeoutMs?: number;
}): Promise<HttpResult>;
export interface LogLine {
    level: LogLevel;
    message: string;
}
/** A log handler that keeps every line, for asserting on what the server logged. */
export declare function collectLogs(): {
    lines: LogLine[];
    logHandler: (level: LogLevel, message: string) => void;
};
/** A promise with its resolve function, for making handlers wait on the test. */
export declare function deferred<T = void>(): {
    promise: Promise<T>;
    resolve: (value: T) => void;
};
/** Resolves with the promise's value, or rejects if it takes longer than `ms`. */
export declare function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T>;
