// The last message `broadcast` sent, behind the `demo://broadcasts/latest` resource. Tools run on
// any worker thread (and, for 2026-07-28 requests, a different one each call), so the message is
// kept in a small file in the data folder rather than in one thread's memory: every thread and
// every process on the same folder reads the same value.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';

/** The URI of the resource that holds the latest broadcast. */
export const latestBroadcastUri = 'demo://broadcasts/latest';

export interface LatestBroadcast {
  message: string;
  /** ISO 8601 time of the broadcast. */
  at: string;
}

function pathIn(dataDir: string): string {
  return join(dataDir, 'latest-broadcast.json');
}

/** Stores `broadcast` as the latest one (atomically: a reader never sees half a file). */
export function storeLatestBroadcast(dataDir: string, broadcast: LatestBroadcast): void {
  const path = pathIn(dataDir);
  const partial = `${path}.${process.pid}-${threadId}.tmp`;
  writeFileSync(partial, JSON.stringify(broadcast));
  renameSync(partial, path);
}

/** The latest broadcast, or undefined when there has been none (or the file is unreadable). */
export function readLatestBroadcast(dataDir: string): LatestBroadcast | undefined {
  let text: string;
  try {
    text = readFileSync(pathIn(dataDir), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const value = JSON.parse(text) as Partial<LatestBroadcast>;
    if (typeof value.message === 'string' && typeof value.at === 'string')
      return { message: value.message, at: value.at };
  } catch {
    // A file someone else wrote: treat it as no broadcast.
  }
  return undefined;
}
