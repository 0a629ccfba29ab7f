import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where a helper registers what to undo when the test ends: a test's context, or a suite's teardown. */
export interface AfterHooks {
  after(fn: () => unknown): void;
}

/** A free TCP port on 127.0.0.1 (free when asked; taken by whoever binds it first). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Where the tests find Debian's redis-server (REDIS_SERVER overrides). */
export const redisServerPath = process.env['REDIS_SERVER'] ?? '/usr/bin/redis-server';

/**
 * Why a suite that needs a program skips, in one line, or false when `path` exists. Under CI
 * (CI=true, as .ci/run sets, which installs them) nothing skips: a missing program fails there.
 */
export function unlessInstalled(path: string, program: string, install: string): string | false {
  if (existsSync(path) || process.env['CI'] === 'true') return false;
  return `needs ${program} at ${path} (${install})`;
}

/** Why the suites that need a redis-server skip, or false. */
export const withoutRedis = unlessInstalled(
  redisServerPath,
  'redis-server',
  'Debian/Ubuntu: sudo apt-get install redis-server; or set REDIS_SERVER',
);

/**
 * A real redis-server on 127.0.0.1, no persistence, in a temp directory;
 * stopped (by its PID) when the test ends. `stop()` and `start()` restart it
 * on the same port (empty: nothing is saved).
 */
export class RedisProcess {
  readonly port: number;
  readonly url: string;
  readonly #dir: string;
  #child: ChildProcess | undefined;

  private constructor(port: number, dir: string) {
    this.port = port;
    this.url = `redis://127.0.0.1:${port}`;
    this.#dir = dir;
  }

  static async start(t: AfterHooks): Promise<RedisProcess> {
    const dir = mkdtempSync(join(tmpdir(), 'mummyx-redis-'));
    const redis = new RedisProcess(await freePort(), dir);
    t.after(async () => {
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    await redis.start();
    return redis;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  async start(): Promise<void> {
    const child = spawn(
      redisServerPath,
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.#dir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#child = child;
    let output = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stdout.setEncoding('utf8');
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: string) => {
        output += chunk;
        if (output.includes('Ready to accept connections')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${output}`)));
      child.once('error', reject);
    });
    await ready;
    child.stdout.resume();
  }

  /** Stops it now (SIGKILL: no goodbye to its clients, as when a machine goes away). */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
}

/** Resolves once `check` returns true, polling every 20 ms; rejects after `timeoutMs` with `what`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
