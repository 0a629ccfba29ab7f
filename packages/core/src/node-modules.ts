/**
 * Node modules this library uses on some paths only, loaded on first use. Every worker thread of
 * a pool imports the whole library before it serves, and a worker that never compresses, makes a
 * random name or answers an error itself need not load zlib, crypto or http: together they were
 * about a fifth of what importing the library cost a worker (~14 ms of CPU each on a slow box).
 * The IO thread loads node:http anyway, for its server.
 */
export const nodeHttp = (): typeof import('node:http') => process.getBuiltinModule('node:http');
export const nodeCrypto = (): typeof import('node:crypto') => process.getBuiltinModule('node:crypto');
export const nodeZlib = (): typeof import('node:zlib') => process.getBuiltinModule('node:zlib');

/** The reason phrase of an HTTP status, as Node's STATUS_CODES gives it. */
export function reasonPhrase(status: number): string | undefined {
  return nodeHttp().STATUS_CODES[status];
}
