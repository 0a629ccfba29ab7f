import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { TestContext } from 'node:test';
import {
  createServer,
  type LogLevel,
  type RequestHandler,
  type Router,
  type Server,
  type ServerOptions,
} from '@mummyx/core';

export interface Started {
  server: Server;
  port: number;
  url: string;
}

/** Starts a server on 127.0.0.1:0 and closes it when the test ends. */
export async function start(
  t: TestContext,
  handler: RequestHandler | Router,
  options: ServerOptions = {},
): Promise<Started> {
  const server = createServer(handler, { logLevel: 'error', logHandler: () => {}, ...options });
  const address = await server.listen(0);
  t.after(() => server.close());
  return { server, port: address.port, url: address.url };
}

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
export function rawRequest(
  port: number,
  bytes: string | Buffer,
  options: RawOptions = {},
): Promise<{ text: string; closed: boolean }> {
  const idleMs = options.idleMs ?? 300;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const halfClose = options.halfClose ?? false;
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let idle: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(idle);
      clearTimeout(overall);
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed });
    };
    const overall = setTimeout(() => finish(false), timeoutMs);
    const arm = (): void => {
      if (halfClose) return;
      clearTimeout(idle);
      idle = setTimeout(() => finish(false), idleMs);
    };
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      arm();
    });
    socket.on('close', () => finish(true));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') finish(true);
      else {
        done = true;
        clearTimeout(idle);
        clearTimeout(overall);
        reject(error);
      }
    });
    if (halfClose) socket.end(bytes);
    else socket.write(bytes);
    arm();
  });
}

/** The status code of the first response in a raw answer. */
export function statusOf(text: string): number {
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  return match === null ? 0 : Number(match[1]);
}

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

const statusLinePattern = /^HTTP\/1\.[01] (\d{3}) [^\r\n]*$/;

/**
 * Parses the response at the start of `text`. Returns `undefined` while the
 * head or the body is still incomplete. `bodyless` is for answers to HEAD.
 * Throws when the bytes are not a well-formed HTTP/1.x response.
 */
export function parseResponse(text: string, bodyless = false): { response: RawResponse; rest: string } | undefined {
  const headEnd = text.indexOf('\r\n\r\n');
  if (headEnd === -1) return undefined;
  const lines = text.slice(0, headEnd).split('\r\n');
  const statusLine = lines[0]!;
  const match = statusLinePattern.exec(statusLine);
  if (match === null) throw new Error(`malformed status line: ${JSON.stringify(statusLine)}`);
  const status = Number(match[1]);
  const headers: Array<[string, string]> = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`malformed header line: ${JSON.stringify(line)}`);
    headers.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
  }
  const headerAll = (name: string): string[] =>
    headers.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
  const header = (name: string): string | undefined => headerAll(name)[0];
  let rest = text.slice(headEnd + 4);
  let body = '';
  if (!bodyless && status >= 200 && status !== 204 && status !== 304) {
    const length = header('content-length');
    if (length !== undefined) {
      if (rest.length < Number(length)) return undefined;
      body = rest.slice(0, Number(length));
      rest = rest.slice(Number(length));
    } else if (header('transfer-encoding')?.toLowerCase() === 'chunked') {
      const decoded = decodeChunked(rest);
      if (decoded === undefined) return undefined;
      body = decoded.body;
      rest = decoded.rest;
    } else {
      body = rest;
      rest = '';
    }
  }
  return { response: { statusLine, status, headers, body, header, headerAll }, rest };
}

function decodeChunked(text: string): { body: string; rest: string } | undefined {
  let body = '';
  let at = 0;
  for (;;) {
    const lineEnd = text.indexOf('\r\n', at);
    if (lineEnd === -1) return undefined;
    const size = parseInt(text.slice(at, lineEnd), 16);
    if (Number.isNaN(size)) throw new Error('malformed chunk size');
    at = lineEnd + 2;
    if (size === 0) {
      const end = text.indexOf('\r\n', at);
      if (end === -1) return undefined;
      return { body, rest: text.slice(end + 2) };
    }
    if (text.length < at + size + 2) return undefined;
    body += text.slice(at, at + size);
    at += size + 2;
  }
}

/** Parses every complete response in `text`; throws if bytes are left over. */
export function parseResponses(text: string): RawResponse[] {
  const responses: RawResponse[] = [];
  let rest = text;
  while (rest.length > 0) {
    const parsed = parseResponse(rest);
    if (parsed === undefined) throw new Error(`incomplete response: ${JSON.stringify(rest.slice(0, 200))}`);
    responses.push(parsed.response);
    rest = parsed.rest;
  }
  return responses;
}

/** Parses a raw answer that must hold exactly one response. */
export function onlyResponse(text: string, bodyless = false): RawResponse {
  const parsed = parseResponse(text, bodyless);
  if (parsed === undefined) throw new Error(`incomplete response: ${JSON.stringify(text.slice(0, 200))}`);
  if (parsed.rest !== '') throw new Error(`bytes after the response: ${JSON.stringify(parsed.rest.slice(0, 200))}`);
  return parsed.response;
}

/**
 * Lets a reader wait for the next event (data, close) without polling: `notify()` wakes the one
 * pending `wait(ms)`, which resolves true, or false when `ms` ran out first.
 */
export class Signal {
  #wake: (() => void) | undefined;

  notify(): void {
    this.#wake?.();
  }

  wait(ms: number): Promise<boolean> {
    if (ms <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve(false);
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve(true);
      };
    });
  }
}

/**
 * A raw client connection kept open across requests, for keep-alive,
 * pipelining and interim responses. Closed when the test ends.
 */
export class RawConnection {
  readonly socket: Socket;
  #buffer = '';
  #closed = false;
  readonly #signal = new Signal();

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buffer += chunk.toString('latin1');
      this.#signal.notify();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#signal.notify();
    });
    socket.on('error', () => {});
  }

  static async open(t: TestContext, port: number): Promise<RawConnection> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const connection = new RawConnection(socket);
    t.after(() => connection.destroy());
    return connection;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** Bytes received and not yet consumed by `readResponse`. */
  get pending(): string {
    return this.#buffer;
  }

  write(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  /** Waits for the next complete response. Rejects on close or after `timeoutMs`. */
  async readResponse(options: { bodyless?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
    const deadline = Date.now() + (options.timeoutMs ?? 3_000);
    for (;;) {
      const parsed = parseResponse(this.#buffer, options.bodyless);
      if (parsed !== undefined) {
        this.#buffer = parsed.rest;
        return parsed.response;
      }
      if (this.#closed) throw new Error(`connection closed; received ${JSON.stringify(this.#buffer.slice(0, 200))}`);
      if (!(await this.#signal.wait(deadline - Date.now()))) {
        throw new Error(`no complete response in time; received ${JSON.stringify(this.#buffer.slice(0, 200))}`);
      }
    }
  }

  /** Resolves true once the server has closed the connection, false after `timeoutMs`. */
  async waitClosed(timeoutMs = 3_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#closed) {
      if (!(await this.#signal.wait(deadline - Date.now()))) return false;
    }
    return true;
  }

  /** Waits for `ms`, then reports whether anything arrived meanwhile. */
  async quietFor(ms: number): Promise<boolean> {
    const before = this.#buffer.length;
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.#buffer.length === before;
  }

  destroy(): void {
    this.socket.destroy();
  }
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
export function httpGet(
  url: string,
  options: { method?: string; headers?: OutgoingHttpHeaders; body?: string | Buffer; timeoutMs?: number } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: options.method ?? 'GET', headers: options.headers, agent: false, timeout: options.timeoutMs ?? 5_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body: Buffer.concat(chunks),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(options.body);
  });
}

export interface LogLine {
  level: LogLevel;
  message: string;
}

/** A log handler that keeps every line, for asserting on what the server logged. */
export function collectLogs(): { lines: LogLine[]; logHandler: (level: LogLevel, message: string) => void } {
  const lines: LogLine[] = [];
  return { lines, logHandler: (level, message) => lines.push({ level, message }) };
}

/** A promise with its resolve function, for making handlers wait on the test. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Resolves with the promise's value, or rejects if it takes longer than `ms`. */
export async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A raw connection that sent `request`; destroyed when the test ends. */
export function rawSend(t: TestContext, port: number, request: string): Socket {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  t.after(() => socket.destroy());
  socket.write(request);
  return socket;
}
