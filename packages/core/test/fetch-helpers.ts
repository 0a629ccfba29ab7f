// Helpers shared by the fetch-*.test.ts files.
import type { TestContext } from 'node:test';
import { RawConnection, type RawResponse } from './helpers.js';

/**
 * Writes raw request bytes on a connection of their own and waits for the whole response,
 * however long a busy machine takes (up to 10 s). `bodyless` is for answers to HEAD.
 */
export async function exchange(t: TestContext, port: number, bytes: string, bodyless = false): Promise<RawResponse> {
  const connection = await RawConnection.open(t, port);
  connection.write(bytes);
  try {
    return await connection.readResponse({ bodyless, timeoutMs: 10_000 });
  } finally {
    connection.destroy();
  }
}
