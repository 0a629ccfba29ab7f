import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { createServer, MxError } from '@mummyx/core';

const app = new URL('./fixtures/threads-app.js', import.meta.url);

test('close() during a threaded listen() keeps the port closed and stops the pool', async () => {
  const server = createServer({ app, threads: 4, logHandler: () => {} });
  const listening = server.listen(0);
  const closing = server.close();
  await assert.rejects(
    listening,
    (error: unknown) => error instanceof MxError && error.code === 'MX_ERR_SERVER_CLOSED',
  );
  await closing;
  assert.equal(server.address(), undefined, 'the port never opened');
  assert.equal(server.stats().pool?.workers ?? 0, 0, 'no worker is left running');
});

test('close() right after a threaded listen() resolved closes the port', async () => {
  const server = createServer({ app, threads: 2, logHandler: () => {} });
  const { port } = await server.listen(0);
  await server.close();
  const refused = await new Promise<string>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
  assert.equal(refused, 'ECONNREFUSED');
});
