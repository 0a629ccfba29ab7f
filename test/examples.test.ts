import assert from 'node:assert/strict';
import { test } from 'node:test';
import { examplePath, startProgram } from './start-program.js';

test('hello example answers Hello, World!', async (t) => {
  const url = await startProgram(t, examplePath('hello'));
  const response = await fetch(`${url}/`);
  assert.equal(await response.text(), 'Hello, World!');
});

test('router example serves params, query, echo and its custom 404', async (t) => {
  const url = await startProgram(t, examplePath('router'));
  assert.deepEqual(await (await fetch(`${url}/users/42`)).json(), { id: '42' });
  assert.deepEqual(await (await fetch(`${url}/users/me`)).json(), { id: 'me' });
  assert.deepEqual(await (await fetch(`${url}/search?q=a&q=b+c`)).json(), { q: ['a', 'b c'], page: '1' });
  const echo = await fetch(`${url}/echo`, { method: 'POST', headers: { 'content-type': 'text/x-test' }, body: 'ping' });
  assert.equal(echo.headers.get('content-type'), 'text/x-test');
  assert.equal(await echo.text(), 'ping');
  const missing = await fetch(`${url}/nope`);
  assert.equal(missing.status, 404);
  assert.equal(await missing.text(), 'nothing at /nope\n');
});
