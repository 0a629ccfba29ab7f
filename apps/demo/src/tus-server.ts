// The upload endpoint comes from `@mummyx/core/tus`, loaded when that part of core is installed:
//   new TusServer({ directory, basePath, maxSize, onUploadFinish }).mount(router)
// Without it the demo serves everything but uploads (and `hash_upload`); `/features` says so. The
// interfaces below are the tus server's public contract, the part of it this demo uses.
import type { Router } from '@mummyx/core';

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

/** `TusServer` from `@mummyx/core/tus`, if installed. */
export async function loadTusServer(): Promise<TusServerConstructor | undefined> {
  const specifier = '@mummyx/core/tus';
  return exported<TusServerConstructor>(await importIfInstalled(specifier), 'TusServer', specifier);
}
