// Shared by the tus-*.test.ts files: a server with a TusServer on a fresh directory, and raw
// tus requests with fetch.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { Router } from '@mummyx/core';
import { TusServer, type TusServerOptions } from '@mummyx/core/tus';
import { start, type Started } from './helpers.js';

/** A temporary directory, removed when the test ends. */
export async function tempDirectory(t: TestContext, prefix = 'mx-uploads-'): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), prefix));
  // Retried: a server closing in another after-hook may still be finishing a write in it.
  t.after(() => rm(directory, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));
  return directory;
}

export interface TusStarted extends Started {
  tus: TusServer;
  directory: string;
  /** `url + basePath`: the creation endpoint. */
  endpoint: string;
}

/** Starts an inline server with a TusServer mounted at /files/ on a fresh directory. */
export async function startTus(
  t: TestContext,
  options: Partial<TusServerOptions> = {},
  directory?: string,
): Promise<TusStarted> {
  const dir = directory ?? (await tempDirectory(t));
  const tus = new TusServer({ directory: dir, basePath: '/files/', ...options });
  const router = new Router();
  tus.mount(router);
  t.after(() => tus.close());
  const started = await start(t, router);
  return { ...started, tus, directory: dir, endpoint: `${started.url}/files/` };
}

export const tusHeaders = { 'Tus-Resumable': '1.0.0' } as const;

/** Creates an upload with a raw POST and returns its absolute URL. */
export async function createUpload(base: string, length: number, extra: Record<string, string> = {}): Promise<string> {
  const response = await fetch(`${base}/files/`, {
    method: 'POST',
    headers: { ...tusHeaders, 'Upload-Length': String(length), ...extra },
  });
  if (response.status !== 201) throw new Error(`creation answered ${response.status}: ${await response.text()}`);
  return new URL(response.headers.get('location')!, base).href;
}

/** One PATCH with fetch. */
export function patch(
  url: string,
  offset: number,
  body: Uint8Array,
  extra: Record<string, string> = {},
): Promise<Response> {
  return fetch(url, {
    method: 'PATCH',
    headers: {
      ...tusHeaders,
      'Content-Type': 'application/offset+octet-stream',
      'Upload-Offset': String(offset),
      ...extra,
    },
    body,
  });
}

/** The id at the end of an upload URL. */
export function idOf(url: string): string {
  return new URL(url).pathname.split('/').pop()!;
}
