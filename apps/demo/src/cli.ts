#!/usr/bin/env node
// mummyx-demo: the demo MCP tool server. See `mummyx-demo --help`.
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createServer, parseThreads, type ServerOptions } from '@mummyx/core';
import { claudeConfigEntries, claudeConfigPath, defaultMcpUrl, installClaudeConfig } from './claude-config.js';
import { commandFor, currentLauncher, isInNpxCache } from './invocation.js';
import { defaultDataDir, ensureSampleDatabase } from './sample-database.js';

const usage = `usage:
  mummyx-demo [--port 8080] [--host 127.0.0.1] [--threads 1-8] [--conformance] [--data-dir DIR]
              [--redis URL [--node-id NAME] [--advertise-url URL]]
      the demo over HTTP: MCP at /mcp (Streamable HTTP), /sse + /messages (legacy SSE) and /ws
      (WebSocket, subprotocol mcp), uploads at /files/, and a live web page at /
  mummyx-demo --stdio [--conformance] [--data-dir DIR]
      MCP over stdin/stdout (for Claude Desktop); exits at the end of input
  mummyx-demo --stdio --url ${defaultMcpUrl}
      MCP over stdin/stdout, relayed to the running HTTP demo at that address (its page shows the calls)
  mummyx-demo claude-config [--install] [--config FILE] [--url ${defaultMcpUrl}]
      prints the claude_desktop_config.json entries, which start this same cli.js with this same
      node by absolute path; --install merges them into the file (a timestamped backup first),
      --config names the file instead of Claude's default, --url the HTTP demo's address

options:
  --port N         port to listen on (default 8080, or PORT; 0 picks a free one)
  --host H         address to bind (default 127.0.0.1)
  --threads T      worker threads: N, MIN-MAX (elastic) or 0 for inline (default 1-8)
  --conformance    also register the MCP conformance suite's fixture tools, resources, prompts
  --data-dir DIR   where the sample database and uploads live (default ${defaultDataDir()})
  --redis URL      one node of a cluster coordinated through Redis (default MUMMYX_REDIS_URL):
                   topics, MCP notifications and sessions span every node, uploads lock in Redis
                   (give every node the same --data-dir on shared storage)
  --node-id NAME   this node's name in the cluster and on the page (default HOST-PID)
  --advertise-url URL  where the other nodes reach this one (default: the listening address)
  -h, --help       this text
`;

function fail(message: string): never {
  process.stderr.write(`mummyx-demo: ${message}\n${usage}`);
  process.exit(2);
}

function log(line: string): void {
  process.stderr.write(`mummyx-demo: ${line}\n`);
}

interface Values {
  port: string;
  host: string;
  threads: string;
  stdio: boolean;
  conformance: boolean;
  'data-dir'?: string;
  redis?: string;
  'node-id'?: string;
  'advertise-url'?: string;
  install: boolean;
  config?: string;
  url?: string;
  help: boolean;
}

let values: Values;
let positionals: string[];
try {
  const parsed = parseArgs({
    allowPositionals: true,
    options: {
      port: { type: 'string', default: process.env['PORT'] ?? '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      threads: { type: 'string', default: '1-8' },
      stdio: { type: 'boolean', default: false },
      conformance: { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
      redis: { type: 'string' },
      'node-id': { type: 'string' },
      'advertise-url': { type: 'string' },
      install: { type: 'boolean', default: false },
      config: { type: 'string' },
      url: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  values = parsed.values;
  positionals = parsed.positionals;
} catch (error) {
  fail((error as Error).message);
}

if (values.help) {
  process.stdout.write(usage);
  process.exit(0);
}

const [command, ...extra] = positionals;
if (extra.length > 0 || (command !== undefined && command !== 'claude-config')) {
  fail(`unknown command ${positionals.join(' ')}`);
}
if (command !== 'claude-config' && (values.install || values.config !== undefined)) {
  fail('--install and --config go with the claude-config command');
}
if (command !== 'claude-config' && !values.stdio && values.url !== undefined) {
  fail('--url goes with the claude-config command or with --stdio');
}
if (values.stdio && values.url !== undefined && values.conformance) {
  fail('--conformance is the HTTP demo’s to choose; --stdio --url only relays to it');
}
if (
  (values.stdio || command !== undefined) &&
  (values.redis !== undefined || values['node-id'] !== undefined || values['advertise-url'] !== undefined)
) {
  fail('--redis, --node-id and --advertise-url go with the HTTP demo');
}
if (command === 'claude-config' && (values.stdio || values.conformance)) {
  fail('claude-config takes --install, --config and --url only');
}

if (command === 'claude-config') {
  runClaudeConfig();
} else if (values.stdio && values.url !== undefined) {
  const { runStdioRelay } = await import('./stdio-relay.js');
  const url = parseUrl(values.url);
  try {
    await runStdioRelay({ url, log, startCommand: commandFor(startArgs(url)) });
    process.exitCode = 0;
  } catch (error) {
    log(`stdio relay: ${(error as Error).message}`);
    process.exitCode = 1;
  }
} else {
  const dataDir = resolve(values['data-dir'] ?? defaultDataDir());
  try {
    ensureSampleDatabase(dataDir);
  } catch (error) {
    // Everything but sql_query and the schema works without it; they will say why they fail.
    log(`cannot create the sample database in ${dataDir}: ${(error as Error).message}`);
  }
  if (values.stdio) {
    const { runStdio } = await import('./stdio.js');
    try {
      await runStdio({ dataDir, conformance: values.conformance, log });
      process.exitCode = 0;
    } catch (error) {
      log(`stdio: ${(error as Error).message}`);
      process.exitCode = 1;
    }
  } else {
    await runHttp(dataDir);
  }
}

function parseUrl(text: string): URL {
  try {
    const url = new URL(text);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url;
  } catch {
    // Refused below.
  }
  return fail(`--url must be an absolute http(s) URL, got ${text}`);
}

/** The `--url` arguments to repeat in a printed command: none for the default address. */
function urlArgs(url: URL): string[] {
  return url.href === defaultMcpUrl ? [] : ['--url', url.href];
}

/** The arguments that start the HTTP demo on the port of `url`: none for the default address. */
function startArgs(url: URL): string[] {
  return url.href === defaultMcpUrl ? [] : ['--port', url.port || (url.protocol === 'https:' ? '443' : '80')];
}

function runClaudeConfig(): void {
  const url = parseUrl(values.url ?? defaultMcpUrl);
  const launcher = currentLauncher();
  const entries = claudeConfigEntries(url.href, launcher);
  // npm may clear its npx cache, and the entries would then point at nothing.
  const cacheNote = isInNpxCache(launcher.cli)
    ? `note: ${launcher.cli} is in npx's cache, which npm may clear; for entries that last, install the\n` +
      `package (npm install --global @mummyx/demo) and run mummyx-demo claude-config --install from there.\n`
    : '';
  if (!values.install) {
    if (values.config !== undefined) fail('--config only goes with --install');
    process.stdout.write(
      `Add these entries to "mcpServers" in ${claudeConfigPath()}\n` +
        `(or run: ${commandFor(['claude-config', '--install', ...urlArgs(url)])}), then restart Claude Desktop.\n` +
        `"mummyx-demo" runs the demo over stdio; "mummyx-demo-http" relays to a running demo at ${url.href}\n` +
        `(start it first: ${commandFor(startArgs(url))}).\n` +
        cacheNote +
        `\n${JSON.stringify({ mcpServers: entries }, null, 2)}\n`,
    );
    return;
  }
  const path = resolve(values.config ?? claudeConfigPath());
  try {
    const result = installClaudeConfig(path, entries);
    if (!result.isChanged) {
      process.stdout.write(`${path} already has the mummyx-demo entries; nothing to do\n`);
    } else {
      const backup = result.backupPath === undefined ? '' : ` (previous file saved as ${result.backupPath})`;
      process.stdout.write(
        `added ${Object.keys(entries).join(' and ')} to ${path}${backup}\nrestart Claude Desktop to use them\n${cacheNote}`,
      );
    }
  } catch (error) {
    log(`claude-config: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}

async function runHttp(dataDir: string): Promise<void> {
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535 || values.port.trim() === '') {
    fail(`--port must be an integer from 0 to 65535, got ${values.port}`);
  }
  let threads: ServerOptions['threads'];
  try {
    threads = parseThreads(values.threads);
  } catch {
    fail(`--threads must be N or MIN-MAX, got ${values.threads}`);
  }

  const redisUrl = values.redis ?? (process.env['MUMMYX_REDIS_URL'] || undefined);
  const nodeId = values['node-id'] ?? `${hostname()}-${process.pid}`;
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl))
    fail(`--redis must be a redis:// URL, got ${redisUrl}`);
  if (redisUrl === undefined && (values['node-id'] !== undefined || values['advertise-url'] !== undefined)) {
    fail('--node-id and --advertise-url go with --redis');
  }
  // The app module reads these on every thread (workers inherit the environment).
  process.env['MUMMYX_DEMO_DATA_DIR'] = dataDir;
  if (values.conformance) process.env['MUMMYX_DEMO_CONFORMANCE'] = '1';
  if (redisUrl !== undefined) {
    process.env['MUMMYX_REDIS_URL'] = redisUrl;
    process.env['MUMMYX_DEMO_NODE'] = nodeId;
    // A multi-round-trip retry may reach any node: every node verifies requestState with one key.
    const { clusterSecret } = await import('@mummyx/redis');
    try {
      process.env['MUMMYX_DEMO_REQUEST_STATE_KEY'] = await clusterSecret({ url: redisUrl, name: 'request-state-key' });
    } catch (error) {
      log(`cannot join the cluster at ${redisUrl}: ${(error as Error).message}`);
      process.exit(1);
    }
  } else {
    delete process.env['MUMMYX_REDIS_URL'];
    delete process.env['MUMMYX_DEMO_REQUEST_STATE_KEY'];
    delete process.env['MUMMYX_DEMO_NODE'];
  }
  const app = new URL('./app.js', import.meta.url);
  const { setPageInfo, setStatsSource } = (await import(app.href)) as typeof import('./app.js');

  const server = createServer({
    app,
    threads,
    logLevel: 'info',
    // A tool call may run long (cpu_work); the MCP client decides when to give up.
    handlerTimeoutMs: 10 * 60_000,
  });
  setStatsSource(() => server.stats());

  let origin: string;
  try {
    const address = await server.listen(port, values.host);
    origin = address.url.replace(/\/$/, '');
  } catch (error) {
    log(`cannot start on ${values.host}:${port}: ${(error as Error).message}`);
    process.exit(1);
  }
  let redisNode: { close(): Promise<void> } | undefined;
  if (redisUrl !== undefined) {
    const { attachRedis } = await import('@mummyx/redis');
    const { mcpEventChannelName } = await import('@mummyx/mcp-transport');
    try {
      redisNode = await attachRedis(server, {
        url: redisUrl,
        nodeId,
        // mount.notify on any node reaches every listen stream and 2025 session of the cluster.
        channels: [mcpEventChannelName('/mcp')],
        ...(values['advertise-url'] === undefined ? {} : { advertiseUrl: values['advertise-url'] }),
        log: (level, message) => server.log(level, `redis: ${message}`),
      });
    } catch (error) {
      log(`cannot join the cluster at ${redisUrl}: ${(error as Error).message}`);
      process.exit(1);
    }
  }
  const mcpUrl = new URL(`${origin}/mcp`);
  const claudeConfigCommand = commandFor(['claude-config', '--install', ...urlArgs(mcpUrl)]);
  setPageInfo({ claudeConfigCommand, ...(redisUrl === undefined ? {} : { node: nodeId }) });
  process.stdout.write(
    `mummyx-demo listening on ${origin}\n` +
      `  web page            ${origin}/\n` +
      `  MCP Streamable HTTP ${origin}/mcp\n` +
      `  MCP legacy SSE      ${origin}/sse (messages at /messages)\n` +
      `  MCP WebSocket       ${origin.replace(/^http/, 'ws')}/ws (subprotocol mcp)\n` +
      `  uploads (tus)       ${origin}/files/\n` +
      `  data                ${dataDir}\n` +
      (redisUrl === undefined
        ? ''
        : `  cluster             node ${nodeId} through ${redisUrl.replace(/\/\/[^@/]*@/, '//***@')}\n`) +
      `connect:\n` +
      `  Inspector CLI   npx -y @modelcontextprotocol/inspector@2.12.0 --cli ${origin}/mcp --method tools/list\n` +
      `  Claude Desktop  ${claudeConfigCommand}\n` +
      `                  (adds this demo over stdio, and a relay to this server), then restart Claude Desktop\n` +
      `  SDK client      new StreamableHTTPClientTransport(new URL('${origin}/mcp'))\n`,
  );

  let isClosing = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (isClosing) {
        log(`${signal} again, exiting now`);
        process.exit(1);
      }
      isClosing = true;
      log(`${signal}, closing`);
      server
        .close()
        .then(() => redisNode?.close())
        .then(
          () => process.exit(0),
          (error: unknown) => {
            log(`close failed: ${(error as Error).message}`);
            process.exit(1);
          },
        );
    });
  }
}
