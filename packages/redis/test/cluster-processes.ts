import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { freePort, RedisProcess, unlessInstalled, until, withoutRedis, type AfterHooks } from './redis-server.js';

const demoCli = fileURLToPath(new URL('../../../apps/demo/dist/cli.js', import.meta.url));
const clusterExample = fileURLToPath(new URL('../../../examples/cluster/', import.meta.url));
export const haproxyPath = process.env['HAPROXY'] ?? '/usr/sbin/haproxy';

/** Why the cluster suites (Redis, HAProxy and three demo nodes) skip, or false. */
export const withoutCluster =
  withoutRedis ||
  unlessInstalled(haproxyPath, 'haproxy', 'Debian/Ubuntu: sudo apt-get install haproxy; or set HAPROXY');

/** Cleanups for what a suite's `before` hook started, run last first by its `after` hook. */
class Teardown implements AfterHooks {
  readonly #cleanups: Array<() => unknown> = [];

  after(fn: () => unknown): void {
    this.#cleanups.push(fn);
  }

  async run(): Promise<void> {
    const errors: unknown[] = [];
    for (const cleanup of this.#cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'cleanup failed');
  }
}

/** A process stopped when the test ends (SIGTERM, SIGKILL after 5 s), unless it already exited. */
function track(t: AfterHooks, child: ChildProcess): void {
  t.after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  });
}

export interface DemoNode {
  name: string;
  url: string;
  child: ChildProcess;
  output: () => string;
  /** kill -9: no goodbye, no lease released. */
  kill(): Promise<void>;
}

/**
 * One `mummyx-demo` node of the cluster on a free port, told Redis's address
 * by `--redis` or by `MUMMYX_REDIS_URL` (`redisFrom: 'env'`).
 */
export async function startDemoNode(
  t: AfterHooks,
  name: string,
  redisUrl: string,
  dataDir: string,
  redisFrom: 'flag' | 'env' = 'flag',
): Promise<DemoNode> {
  const child = spawn(
    process.execPath,
    [
      demoCli,
      '--port',
      '0',
      '--threads',
      '2',
      '--data-dir',
      dataDir,
      ...(redisFrom === 'flag' ? ['--redis', redisUrl] : []),
      '--node-id',
      name,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, MUMMYX_REDIS_URL: redisFrom === 'env' ? redisUrl : '' },
    },
  );
  track(t, child);
  let output = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stdout.setEncoding('utf8');
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: string) => {
      output += chunk;
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match !== null) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`node ${name} exited (${code}): ${output}`)));
  });
  return {
    name,
    url,
    child,
    output: () => output,
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
}

export interface Cluster {
  redis: RedisProcess;
  nodes: DemoNode[];
  /** The balancer's address. */
  url: string;
  dataDir: string;
}

/**
 * Redis, three demo nodes sharing one data directory (n1 and n2 told Redis's
 * address by `--redis`, n3 by `MUMMYX_REDIS_URL`), and HAProxy in front with
 * one of the shipped configurations (`examples/cluster/haproxy-*.cfg`).
 */
export async function startCluster(
  t: AfterHooks,
  config: BalancerConfig = 'haproxy-round-robin.cfg',
): Promise<Cluster> {
  const redis = await RedisProcess.start(t);
  const dataDir = mkdtempSync(join(tmpdir(), 'mummyx-cluster-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));
  // The first creates the sample database in the shared directory; then the others.
  const first = await startDemoNode(t, 'n1', redis.url, dataDir);
  const others = await Promise.all([
    startDemoNode(t, 'n2', redis.url, dataDir),
    startDemoNode(t, 'n3', redis.url, dataDir, 'env'),
  ]);
  const nodes = [first, ...others];
  const url = await startBalancer(t, nodes, config);
  return { redis, nodes, url, dataDir };
}

/**
 * One cluster for every test of the calling suite (`describe`): its `before`
 * hook starts it and its `after` hook stops it, since starting one takes most
 * of a test's time. Returns the function that hands it to a test.
 */
export function clusterForSuite(config?: BalancerConfig): () => Cluster {
  const teardown = new Teardown();
  let cluster: Cluster | undefined;
  before(async () => {
    cluster = await startCluster(teardown, config);
  });
  after(() => teardown.run());
  return () => {
    if (cluster === undefined) throw new Error('the cluster did not start');
    return cluster;
  };
}

export type BalancerConfig = 'haproxy-round-robin.cfg' | 'haproxy-sticky.cfg';

/**
 * HAProxy with one of the shipped configurations in front of three nodes;
 * resolves with its address once a round of requests reached every node.
 */
export async function startBalancer(t: AfterHooks, nodes: DemoNode[], config: BalancerConfig): Promise<string> {
  const frontPort = await freePort();
  const env: Record<string, string> = { ...process.env, FRONT: `127.0.0.1:${frontPort}` };
  nodes.forEach((node, i) => (env[`NODE${i + 1}`] = new URL(node.url).host));
  const haproxy = spawn(haproxyPath, ['-db', '-f', join(clusterExample, config)], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  track(t, haproxy);
  let haproxyOutput = '';
  haproxy.stderr.setEncoding('utf8').on('data', (chunk: string) => (haproxyOutput += chunk));
  const url = `http://127.0.0.1:${frontPort}`;
  await until(
    async () => {
      if (haproxy.exitCode !== null) throw new Error(`haproxy exited: ${haproxyOutput}`);
      const seen = new Set<string>();
      for (let i = 0; i < 6; i++) {
        try {
          const answer = (await (await fetch(`${url}/ping`)).json()) as { node?: string };
          if (answer.node !== undefined) seen.add(answer.node);
        } catch {
          return false;
        }
      }
      return seen.size === nodes.length;
    },
    'the balancer to reach all three nodes',
    30_000,
  );
  return url;
}

/** A node's `/stats`. */
export async function statsOf(node: DemoNode): Promise<{
  sessionDirectory?: { forwarded: number; unknown: number };
  broker?: { published: number; received: number; connected: boolean };
  requestsHandled: number;
}> {
  return (await fetch(`${node.url}/stats`)).json() as never;
}

export { until };
