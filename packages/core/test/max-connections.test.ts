// Beyond `maxConnections` open connections, a new one gets 503 with Retry-After and
// Connection: close at once — a clean refusal, before file descriptors run out — and is
// counted in stats().connectionsRefused. Closing a connection makes room again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Router } from '@mummyx/core';
import { RawConnection, onlyResponse, rawRequest, start } from './helpers.js';
import { waitFor } from './fixtures/websocket-kit.js';

function helloRouter(): Router {
  const router = new Router();
  router.get('/', (request) => request.respond(200, {}, 'hello'));
  return router;
}

test('the connection over maxConnections gets 503, Retry-After and Connection: close', async (t) => {
  const { server, port } = await start(t, helloRouter(), { maxConnections: 3 });
  const open: RawConnection[] = [];
  for (let i = 0; i < 3; i++) open.push(await RawConnection.open(t, port));
  await waitFor('three connections', () => server.stats().connections === 3);
  const refused = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { halfClose: true });
  const response = onlyResponse(refused.text);
  assert.equal(response.status, 503);
  assert.equal(response.header('retry-after'), '1');
  assert.equal(response.header('connection'), 'close');
  assert.equal(refused.closed, true);
  assert.equal(server.stats().connectionsRefused, 1);
  // The open connections are served as before.
  open[0]!.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal((await open[0]!.readResponse()).body, 'hello');
  // One leaves: the next connection is served.
  open[1]!.destroy();
  await waitFor('two connections', () => server.stats().connections === 2);
  const served = onlyResponse(
    (await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { halfClose: true })).text,
  );
  assert.equal(served.status, 200);
  assert.equal(served.body, 'hello');
});

test('a refused WebSocket upgrade gets the 503 and no 101', async (t) => {
  const { server, port } = await start(t, helloRouter(), { maxConnections: 1 });
  await RawConnection.open(t, port);
  await waitFor('one connection', () => server.stats().connections === 1);
  const refused = await rawRequest(
    port,
    'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    { halfClose: true },
  );
  assert.equal(onlyResponse(refused.text).status, 503);
});
