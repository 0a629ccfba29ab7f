import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BroadcastChannel } from 'node:worker_threads';
import { ActivityLog, activityChannelName, type ActivityMessage } from '../dist/activity-log.js';

const at = (second: number): Date => new Date(Date.UTC(2026, 11, 7, 12, 0, second));
const message = (event: string, data: object): ActivityMessage => ({ event, data: JSON.stringify(data) });

function openLog(limits = {}): { log: ActivityLog; published: ActivityMessage[] } {
  const published: ActivityMessage[] = [];
  return { log: new ActivityLog((sent) => published.push(sent), limits), published };
}

test('lists the sessions open now, in the order they opened, with the time each opened', () => {
  const { log } = openLog();
  log.record(message('session', { id: 'a', transport: 'sse', state: 'open' }), at(1));
  log.record(message('session', { id: 'b', transport: 'streamable-http', state: 'open' }), at(2));
  log.record(message('session', { id: 'c', transport: 'websocket', state: 'open' }), at(3));
  log.record(message('session', { id: 'b', transport: 'streamable-http', state: 'closed' }), at(4));
  assert.deepEqual(log.snapshot().sessions, [
    { id: 'a', transport: 'sse', state: 'open', at: at(1).toISOString() },
    { id: 'c', transport: 'websocket', state: 'open', at: at(3).toISOString() },
  ]);
});

test('lists the tool calls started and not finished; a finish ends the oldest of its session and tool', () => {
  const { log } = openLog();
  const call = (session: string, tool: string, state: string, second: number): void =>
    log.record(message('tool', { session, tool, state, thread: 'worker 1' }), at(second));
  call('a', 'cpu_work', 'started', 1);
  call('a', 'cpu_work', 'started', 2);
  call('b', 'sql_query', 'started', 3);
  call('a', 'cpu_work', 'finished', 4);
  call('b', 'sql_query', 'failed', 5);
  assert.deepEqual(log.snapshot().running, [
    { session: 'a', tool: 'cpu_work', thread: 'worker 1', at: at(2).toISOString() },
  ]);
  // A session that closes takes its running calls with it.
  log.record(message('session', { id: 'a', transport: 'sse', state: 'closed' }), at(6));
  assert.deepEqual(log.snapshot().running, []);
});

test('publishes every event it records, in order, and keeps the last ones but chat lines', () => {
  const { log, published } = openLog({ maxRecentEvents: 3 });
  const sent = [
    message('broadcast', { message: 'one' }),
    message('chat', { from: 1, text: 'hi' }),
    message('upload', { id: 'u', bytes: 3, name: 'a.txt' }),
    message('work', { elapsedMs: 900, thread: 'worker 2' }),
    message('broadcast', { message: 'two' }),
  ];
  sent.forEach((each, index) => log.record(each, at(index)));
  assert.deepEqual(published, sent);
  assert.deepEqual(
    log.snapshot().recent.map((record) => [record.event, record.at]),
    [
      ['upload', at(2).toISOString()],
      ['work', at(3).toISOString()],
      ['broadcast', at(4).toISOString()],
    ],
  );
});

test('bounds the sessions and running calls it remembers, forgetting the oldest', () => {
  const { log } = openLog({ maxSessions: 2, maxRunningCalls: 2 });
  for (const id of ['a', 'b', 'c']) {
    log.record(message('session', { id, transport: 'sse', state: 'open' }));
    log.record(message('tool', { session: id, tool: 'cpu_work', state: 'started', thread: 'main' }));
  }
  assert.deepEqual(
    log.snapshot().sessions.map((session) => session.id),
    ['b', 'c'],
  );
  assert.deepEqual(
    log.snapshot().running.map((call) => call.session),
    ['b', 'c'],
  );
});

test('an event whose data is not JSON is still published and kept, and changes no state', () => {
  const { log, published } = openLog();
  log.record({ event: 'session', data: 'not json' });
  assert.deepEqual(published, [{ event: 'session', data: 'not json' }]);
  assert.deepEqual(log.snapshot().sessions, []);
  assert.equal(log.snapshot().recent.length, 1);
});

test('records what another party posts on the activity channel, until closed', async () => {
  const { log, published } = openLog();
  log.listen();
  const worker = new BroadcastChannel(activityChannelName);
  try {
    worker.postMessage(message('session', { id: 'w', transport: 'websocket', state: 'open' }));
    worker.postMessage({ event: 42 }); // not an activity message: ignored
    worker.postMessage(message('broadcast', { message: 'from a worker' }));
    for (let turn = 0; turn < 100 && published.length < 2; turn++)
      await new Promise((resolve) => setTimeout(resolve, 5));
    assert.deepEqual(
      published.map((each) => each.event),
      ['session', 'broadcast'],
    );
    assert.deepEqual(
      log.snapshot().sessions.map((session) => session.id),
      ['w'],
    );
  } finally {
    worker.close();
    log.close();
  }
});

test('lists the tasks as last heard of, in the order first heard of; an expired task leaves the list', () => {
  const { log } = openLog({ maxTasks: 2 });
  log.record(message('task', { id: 't1', tool: 'cpu_work', status: 'working' }), at(1));
  log.record(message('task', { id: 't2', tool: 'hash_upload', status: 'working' }), at(2));
  log.record(message('task', { id: 't1', tool: 'cpu_work', status: 'working', statusMessage: '5 of 10' }), at(3));
  log.record(message('task', { id: 't2', tool: '', status: 'cancelled', statusMessage: 'Cancelled' }), at(4));
  assert.deepEqual(log.snapshot().tasks, [
    { id: 't1', tool: 'cpu_work', status: 'working', statusMessage: '5 of 10', at: at(3).toISOString() },
    { id: 't2', tool: 'hash_upload', status: 'cancelled', statusMessage: 'Cancelled', at: at(4).toISOString() },
  ]);
  log.record(message('task', { id: 't1', tool: '', status: 'expired' }), at(5));
  assert.deepEqual(
    log.snapshot().tasks.map((task) => task.id),
    ['t2'],
  );
  // Past maxTasks the oldest is forgotten.
  log.record(message('task', { id: 't3', tool: 'cpu_work', status: 'working' }), at(6));
  log.record(message('task', { id: 't4', tool: 'cpu_work', status: 'working' }), at(7));
  assert.deepEqual(
    log.snapshot().tasks.map((task) => task.id),
    ['t3', 't4'],
  );
});
