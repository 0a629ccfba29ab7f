#!/usr/bin/env node
// mummyx-demo: starts the demo server.
//   --port N       default 8080 (or PORT)
//   --host H       default 127.0.0.1
//   --threads T    worker threads: N, MIN-MAX (elastic), or 0 for inline; default 1-8
import { parseArgs } from 'node:util';
import { createServer, parseThreads, type ServerOptions } from '@mummyx/core';
import { setStatsSource } from './app.js';

const usage = 'usage: mummyx-demo [--port 8080] [--host 127.0.0.1] [--threads 1-8]\n';

function fail(message: string): never {
  process.stderr.write(`mummyx-demo: ${message}\n${usage}`);
  process.exit(2);
}

let values: { port: string; host: string; threads: string; help: boolean };
try {
  ({ values } = parseArgs({
    options: {
      port: { type: 'string', default: process.env['PORT'] ?? '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      threads: { type: 'string', default: '1-8' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }) as { values: typeof values });
} catch (error) {
  fail((error as Error).message);
}

if (values.help) {
  process.stdout.write(usage);
  process.exit(0);
}

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535)
  fail(`--port must be an integer from 0 to 65535, got ${values.port}`);

function threadsOption(text: string): ServerOptions['threads'] {
  try {
    return parseThreads(text);
  } catch {
    return fail(`--threads must be N or MIN-MAX, got ${text}`);
  }
}

const server = createServer({
  app: new URL('./app.js', import.meta.url),
  threads: threadsOption(values.threads),
  logLevel: 'info',
});
setStatsSource(() => server.stats());

try {
  const address = await server.listen(port, values.host);
  process.stdout.write(`mummyx-demo listening on ${address.url}\n`);
} catch (error) {
  process.stderr.write(`mummyx-demo: cannot start on ${values.host}:${port}: ${(error as Error).message}\n`);
  process.exit(1);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`mummyx-demo: ${signal}, closing\n`);
    void server.close().then(() => process.exit(0));
  });
}
