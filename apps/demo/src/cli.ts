#!/usr/bin/env node
// mummyx-demo: starts the demo server. Options: --port N (default 8080), --host H (default 127.0.0.1).
import { parseArgs } from 'node:util';
import { createServer } from '@mummyx/core';
import { createDemoRouter } from './demo-router.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env['PORT'] ?? '8080' },
    host: { type: 'string', default: '127.0.0.1' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  process.stdout.write('usage: mummyx-demo [--port 8080] [--host 127.0.0.1]\n');
  process.exit(0);
}

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  process.stderr.write(`mummyx-demo: --port must be an integer from 0 to 65535, got ${values.port}\n`);
  process.exit(2);
}

const server = createServer(createDemoRouter(), { logLevel: 'info' });
try {
  const address = await server.listen(port, values.host);
  process.stdout.write(`mummyx-demo listening on ${address.url}\n`);
} catch (error) {
  process.stderr.write(`mummyx-demo: cannot listen on ${values.host}:${port}: ${(error as Error).message}\n`);
  process.exit(1);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`mummyx-demo: ${signal}, closing\n`);
    void server.close().then(() => process.exit(0));
  });
}
