// The demo's run modes from apps/demo/README.md: `--threads 0` (everything inline, one thread),
// and `MUMMYX_DEMO_SQLITE` choosing the SQLite engine (or saying clearly why it cannot).
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { test, type TestContext } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { startProgram } from './start-program.js';
import { demoCli, temporaryDir } from './stdio-exchange.js';

type SqliteEngine = 'better-sqlite3' | 'node:sqlite';

/** The engines this Node can run, as the demo itself works them out. */
const { availableEngines } = (await import(
  new URL('../../apps/demo/dist/sample-database.js', import.meta.url).href
)) as { availableEngines: () => SqliteEngine[] };

async function connect(t: TestContext, url: string): Promise<Client> {
  const client = new Client({ name: 'demo-options-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', url)));
  t.after(() => client.close());
  return client;
}

const query = { sql: 'SELECT title FROM books WHERE author_id = ? ORDER BY published', parameters: [3] };

test(
  '--threads 0 runs everything on the one IO thread: no pool, and a blocking job holds up the rest',
  { timeout: 180_000 },
  async (t) => {
    const url = await startProgram(t, demoCli, {
      args: ['--port', '0', '--threads', '0', '--data-dir', temporaryDir(t, 'mummyx-demo-inline-')],
    });
    const stats = (await (await fetch(`${url}/stats`)).json()) as { pool?: unknown };
    assert.equal(stats.pool, undefined, 'no worker pool');
    assert.deepEqual(await (await fetch(`${url}/ping`)).json(), { thread: 0 }, 'the ping ran on the main thread');

    const client = await connect(t, url);
    const result = (await client.callTool({ name: 'sql_query', arguments: query })) as CallToolResult;
    assert.deepEqual(result.structuredContent, {
      columns: ['title'],
      rows: [['Kindred'], ['Parable of the Sower']],
      isTruncated: false,
    });
    const work = (await client.callTool({
      name: 'cpu_work',
      arguments: { rounds: 1_000, chunks: 1 },
    })) as CallToolResult;
    assert.equal((work.structuredContent as { thread: string }).thread, 'main', 'tools run on the main thread');

    // The difference threads make: with one thread, a ping sent while a job runs waits for it. The
    // ping's connection opens only once the job's request is on the wire (and 50 ms later), so the
    // server reads the job first.
    let isJobDone = false;
    let written!: () => void;
    const onWire = new Promise<void>((resolve) => (written = resolve));
    const job = new Promise<{ thread: string }>((resolve, reject) => {
      const req = httpRequest(`${url}/work?rounds=300000`, { agent: false }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => {
          isJobDone = true;
          resolve(JSON.parse(body) as { thread: string });
        });
      });
      req.on('error', reject);
      req.on('finish', written);
      req.end();
    });
    await onWire;
    await new Promise((resolve) => setTimeout(resolve, 50));
    const ping = await fetch(`${url}/ping`);
    assert.equal(ping.status, 200);
    assert.equal(isJobDone, true, 'the ping was answered only after the job');
    assert.equal((await job).thread, 'io');
  },
);

for (const engine of ['better-sqlite3', 'node:sqlite'] as const satisfies readonly SqliteEngine[]) {
  const isAvailable = availableEngines().includes(engine);
  test(`MUMMYX_DEMO_SQLITE=${engine} ${isAvailable ? 'runs sql_query on it' : `says clearly that Node ${process.version} cannot run it`}`, async (t) => {
    const dataDir = temporaryDir(t, 'mummyx-demo-sqlite-');
    const url = await startProgram(t, demoCli, {
      args: ['--port', '0', '--threads', '1', '--data-dir', dataDir],
      env: { MUMMYX_DEMO_SQLITE: engine },
    });
    const client = await connect(t, url);
    const result = (await client.callTool({ name: 'sql_query', arguments: query })) as CallToolResult;
    if (isAvailable) {
      assert.notEqual(result.isError, true, JSON.stringify(result.content));
      assert.deepEqual((result.structuredContent as { rows: unknown }).rows, [['Kindred'], ['Parable of the Sower']]);
    } else {
      assert.equal(result.isError, true);
      const text = (result.content[0] as { text: string }).text;
      assert.match(text, new RegExp(`MUMMYX_DEMO_SQLITE=${engine} is not available in Node ${process.version}`));
    }
  });
}

test('MUMMYX_DEMO_SQLITE naming no engine is refused with the engines that are available', async (t) => {
  const url = await startProgram(t, demoCli, {
    args: ['--port', '0', '--threads', '1', '--data-dir', temporaryDir(t, 'mummyx-demo-sqlite-')],
    env: { MUMMYX_DEMO_SQLITE: 'postgres' },
  });
  const client = await connect(t, url);
  const result = (await client.callTool({ name: 'sql_query', arguments: query })) as CallToolResult;
  assert.equal(result.isError, true);
  assert.match(
    (result.content[0] as { text: string }).text,
    new RegExp(`MUMMYX_DEMO_SQLITE=postgres is not available .*available: ${availableEngines().join(', ')}`),
  );
});
