// The demo's two parts that come from their own packages, loaded when installed:
//   @mummyx/mcp-transport  mountMcp(router, { createServer, onSessionCreated, onSessionClosed })
//   @mummyx/core/tus       new TusServer({ directory, basePath, maxSize, onUploadFinish })
// Without them the demo still serves its page, chat and activity stream (and `--stdio`); `/features`
// says which parts are on. The interfaces below are the packages' public contracts, the part of
// them this demo uses.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Router } from '@mummyx/core';

/** One MCP session, as the transport package describes it. */
export interface McpSession {
  id: string;
  transport: 'streamable-http' | 'sse' | 'websocket';
}

export interface MountMcpOptions {
  /** A new McpServer for each session, created on the thread that owns the session. */
  createServer: (session: McpSession) => McpServer;
  onSessionCreated?: (session: McpSession) => void;
  onSessionClosed?: (session: McpSession) => void;
}

export type MountMcp = (router: Router, options: MountMcpOptions) => unknown;

/** A tus upload, as the tus server describes it. */
export interface TusUploadInfo {
  id: string;
  offset: number;
  length: number | undefined;
  metadata: Record<string, string>;
  complete: boolean;
  dataPath: string;
}

export interface TusServerOptions {
  directory: string;
  basePath: string;
  maxSize?: number;
  onUploadFinish?: (upload: TusUploadInfo) => void;
}

export interface TusServerLike {
  mount(router: Router): void;
  dataPath(id: string): string;
  getUpload(id: string): Promise<TusUploadInfo | undefined>;
}

export type TusServerConstructor = new (options: TusServerOptions) => TusServerLike;

/**
 * Imports `specifier`, or returns undefined when that package (or subpath) is not installed. Any
 * other failure — the package is there but broken — is thrown.
 */
async function importIfInstalled(specifier: string): Promise<Record<string, unknown> | undefined> {
  try {
    return (await import(specifier)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const packageName = specifier.split('/').slice(0, 2).join('/');
    const isMissing =
      (code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes(`'${packageName}'`)) ||
      code === 'ERR_PACKAGE_PATH_NOT_EXPORTED';
    if (isMissing) return undefined;
    throw error;
  }
}

function exported<T>(module: Record<string, unknown> | undefined, name: string, specifier: string): T | undefined {
  if (module === undefined) return undefined;
  const value = module[name];
  if (typeof value !== 'function') throw new TypeError(`${specifier} does not export a function ${name}`);
  return value as T;
}

/** `mountMcp` from `@mummyx/mcp-transport`, if installed. */
export async function loadMcpTransport(): Promise<MountMcp | undefined> {
  const specifier = '@mummyx/mcp-transport';
  return exported<MountMcp>(await importIfInstalled(specifier), 'mountMcp', specifier);
}

/** `TusServer` from `@mummyx/core/tus`, if installed. */
export async function loadTusServer(): Promise<TusServerConstructor | undefined> {
  const specifier = '@mummyx/core/tus';
  return exported<TusServerConstructor>(await importIfInstalled(specifier), 'TusServer', specifier);
}
