/**
 * What this package takes from the MCP TypeScript SDK 2.x
 * (`@modelcontextprotocol/server`), loaded on first use: the package is an
 * optional peer, so an application that serves SDK 1.x servers only never
 * needs it installed. Every other file gets the SDK from here. The type
 * imports are erased when compiled; nothing here is named by the package's
 * public types.
 */
import type * as ServerModule from '@modelcontextprotocol/server';
import type * as StdioModule from '@modelcontextprotocol/server/stdio';

export type SdkV2 = typeof ServerModule;
export type SdkV2Stdio = typeof StdioModule;
export type McpHttpHandler = ServerModule.McpHttpHandler;
export type McpRequestContext = ServerModule.McpRequestContext;
export type ServerEvent = ServerModule.ServerEvent;
export type ServerEventBus = ServerModule.ServerEventBus;
export type InboundClassificationOutcome = ServerModule.InboundClassificationOutcome;

let sdk: Promise<SdkV2 | undefined> | undefined;
let stdio: Promise<SdkV2Stdio | undefined> | undefined;

/**
 * `@modelcontextprotocol/server`, or undefined when it is not installed.
 * Imported once per thread; a failure other than "not found" is rethrown.
 */
export function loadSdkV2(): Promise<SdkV2 | undefined> {
  return (sdk ??= import('@modelcontextprotocol/server').then(
    (module) => module,
    (error: unknown) => absent(error),
  ));
}

/** `@modelcontextprotocol/server/stdio` (its `serveStdio` serves both eras on one connection), or undefined. */
export function loadSdkV2Stdio(): Promise<SdkV2Stdio | undefined> {
  return (stdio ??= import('@modelcontextprotocol/server/stdio').then(
    (module) => module,
    (error: unknown) => absent(error),
  ));
}

/**
 * Whether `@modelcontextprotocol/server` can be imported from here, found
 * without loading it (importing it costs a thread about 170 ms of CPU and
 * 11 MB of heap, which an application of SDK 1.x servers need not pay).
 */
export function isSdkV2Installed(): boolean {
  if (installed === undefined) {
    try {
      import.meta.resolve('@modelcontextprotocol/server');
      installed = true;
    } catch {
      installed = false;
    }
  }
  return installed;
}

let installed: boolean | undefined;

function absent(error: unknown): undefined {
  const code = (error as { code?: unknown }).code;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') {
    return undefined;
  }
  throw error;
}
