// What a shutdown promises: every request that reached the server before close() began is
// answered — served, or 503 with Retry-After and Connection: close — never reset; and the close
// ends within closeTimeoutMs, even while the worker pool is still starting.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Router } from '@mummyx/core';
import { start } from './helpers.js';

/** Opens a connection that sends a whole request at once; resolves with what it got back. */
function requestOnNewConnection(port: number): { sent: Promise<void>; outcome: Promise<string> } {
  const socket = connect(port, '127.0.0.1');
  let text = '';
  let error = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
  const sent = new Promise<void>((resolve) => socket.write('GET /work HTTP/1.1\r\nHost: x\r\n\r\n', () => resolve()));
  const outcome = new Promise<string>((resolve) => {
    socket.on('close', () => {
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1];
      if (status === '503' && !/\r\nRetry-After: 1\r\n/i.test(text)) resolve('503 without Retry-After');
      else resolve(status ?? (error || 'closed without an answer'));
    });
  });
  return { sent, outcome };
}

test('requests sent before close() began are all answered, none reset', async (t) => {
  const router = new Router();
  router.get('/work', async (request) => {
    await delay(20);
    request.respond(200, {}, 'done');
  });
  const { server, port } = await start(t, router, { closeTimeoutMs: 5_000 });
  const clients = Array.from({ length: 200 }, () => requestOnNewConnection(port));
  // Every request is with the server's kernel; many connections still wait in the listener's backlog.
  await Promise.all(clients.map((client) => client.sent));
  await server.close();
  const outcomes = await Promise.all(clients.map((client) => client.outcome));
  const unanswered = outcomes.filter((outcome) => outcome !== '200' && outcome !== '503');
  assert.deepEqual(unanswered, [], `outcomes: ${JSON.stringify(countOf(outcomes))}`);
});

function countOf(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

test('SIGTERM while the pool is starting ends the process within closeTimeoutMs', { timeout: 30_000 }, async (t) => {
  // The app's workers take 30 s to load; closeTimeoutMs is 1 s.
  const child = spawn(process.execPath, [fileURLToPath(new URL('./fixtures/slow-start-app.js', import.meta.url))], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let output = '';
  child.stdout.setEncoding('utf8');
  const starting = new Promise<void>((resolve) =>
    child.stdout.on('data', (chunk: string) => {
      output += chunk;
      if (output.includes('starting')) resolve();
    }),
  );
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  await starting;
  await delay(500);
  child.kill('SIGTERM');
  const signalled = performance.now();
  const winner = await Promise.race([exited, delay(10_000).then(() => 'still running' as const)]);
  assert.notEqual(winner, 'still running', `the process was still alive 10 s after SIGTERM: ${output}`);
  assert.deepEqual(winner, [0, null]);
  assert.match(output, /listen: MX_ERR_SERVER_CLOSED/);
  const tookMs = performance.now() - signalled;
  assert.ok(tookMs < 8_000, `exited ${Math.round(tookMs)} ms after SIGTERM`);
});
