// The `websocket` options are checked when the server is created: limits must be positive
// integers (heartbeatIntervalMs may be 0, which turns the heartbeat off).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createServer, MxError, Router, type ServerOptions } from '@mummyx/core';

const router = new Router();

const invalid: Array<[string, NonNullable<ServerOptions['websocket']>]> = [
  ['maxMessageBytes 0', { maxMessageBytes: 0 }],
  ['maxMessageBytes -1', { maxMessageBytes: -1 }],
  ['maxMessageBytes 1.5', { maxMessageBytes: 1.5 }],
  ['maxFragments 0', { maxFragments: 0 }],
  ['heartbeatIntervalMs -1', { heartbeatIntervalMs: -1 }],
  ['heartbeatIntervalMs NaN', { heartbeatIntervalMs: Number.NaN }],
  ['closeTimeoutMs 0', { closeTimeoutMs: 0 }],
];

for (const [what, websocket] of invalid) {
  test(`createServer refuses websocket ${what} with MX_ERR_OPTION_INVALID`, () => {
    assert.throws(
      () => createServer(router, { websocket }),
      (error: unknown) => error instanceof MxError && error.code === 'MX_ERR_OPTION_INVALID',
    );
  });
}

test('createServer accepts heartbeatIntervalMs 0 and every documented option', async () => {
  const server = createServer(router, {
    logLevel: 'error',
    logHandler: () => {},
    websocketHandler: () => {},
    websocket: {
      maxMessageBytes: 1,
      maxFragments: 1,
      perMessageDeflate: true,
      heartbeatIntervalMs: 0,
      closeTimeoutMs: 1,
      allowedOrigins: [],
      verifyOrigin: () => true,
      handleProtocols: () => false,
    },
  });
  await server.close();
});
