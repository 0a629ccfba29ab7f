import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Router } from '@mummyx/core';
import { start } from './helpers.js';

test('answers a routed GET with the handler response', async (t) => {
  const router = new Router();
  router.get('/', (request) => request.respond(200, { 'Content-Type': 'text/plain' }, 'Hello, World!'));
  const { url } = await start(t, router);
  const response = await fetch(`${url}/`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'text/plain');
  assert.equal(response.headers.get('content-length'), '13');
  assert.equal(await response.text(), 'Hello, World!');
});
