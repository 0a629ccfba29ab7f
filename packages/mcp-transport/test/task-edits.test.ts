// The record changes a TaskStore makes, as the pure functions the package exports for stores of
// other packages (RedisTaskStore applies them): what each edit does to a record in each status,
// and how applyTaskEdit stamps and freezes the result. The stores' own tests cover them in use.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyTaskEdit, newTaskRecord, taskEdits, type InputResume, type TaskRecord } from '@mummyx/mcp-transport';

const call = { params: { name: 'tool' }, headers: {}, url: 'http://localhost/mcp', remoteAddress: '127.0.0.1' };
const gone = { code: -32603, message: 'runner gone' };

function created(nowMs = 1_000): TaskRecord {
  return newTaskRecord({ taskId: 't1', principal: 'p', ttlMs: 60_000, pollIntervalMs: 500, runner: 'r1', call }, nowMs);
}

/** `record` after `edit` at `nowMs`, failing the test when the edit leaves it as it is. */
function after(record: TaskRecord, edit: (record: TaskRecord) => Partial<TaskRecord> | undefined, nowMs = 2_000) {
  const next = applyTaskEdit(record, edit, nowMs);
  assert.ok(next !== undefined, 'the edit changes the record');
  return next;
}

test('newTaskRecord: a frozen working record stamped at nowMs, with no input, result or error', () => {
  const record = created(1_234);
  assert.ok(Object.isFrozen(record));
  assert.equal(record.status, 'working');
  assert.equal(record.createdAtMs, 1_234);
  assert.equal(record.lastUpdatedAtMs, 1_234);
  assert.equal(record.runner, 'r1');
  assert.deepEqual(record.usedKeys, []);
  assert.equal(record.rounds, 0);
  for (const field of ['statusMessage', 'inputRequests', 'round', 'result', 'error'] as const) {
    assert.ok(Object.hasOwn(record, field) && record[field] === undefined, field);
  }
});

test('applyTaskEdit: undefined when the edit changes nothing; else a new frozen record whose stamp never goes back', () => {
  const record = created(5_000);
  assert.equal(
    applyTaskEdit(record, () => undefined, 6_000),
    undefined,
  );
  const later = after(record, taskEdits.update('half way'), 6_000);
  assert.notEqual(later, record);
  assert.ok(Object.isFrozen(later));
  assert.equal(later.lastUpdatedAtMs, 6_000);
  assert.equal(record.statusMessage, undefined, 'the old record is left as it was');
  // A clock behind the record's stamp (another node's) keeps the stamp.
  assert.equal(after(later, taskEdits.update('again'), 4_000).lastUpdatedAtMs, 6_000);
});

test('update and requestInput apply to a working task only', () => {
  const waiting = after(created(), taskEdits.requestInput({ inputRequests: { a: {} }, requestState: 's' }));
  assert.equal(waiting.status, 'input_required');
  assert.equal(waiting.runner, undefined);
  assert.equal(applyTaskEdit(waiting, taskEdits.update('progress'), 3_000), undefined);
  assert.equal(
    applyTaskEdit(waiting, taskEdits.requestInput({ inputRequests: { b: {} }, requestState: undefined }), 3_000),
    undefined,
  );
});

test('answerInput calls resumed once the last outstanding key is answered, every time the edit is applied to that record', () => {
  const waiting = after(
    created(),
    taskEdits.requestInput({ inputRequests: { a: { q: 1 }, b: { q: 2 } }, requestState: 's1' }),
  );
  const resumes: InputResume[] = [];
  const partial = after(
    waiting,
    taskEdits.answerInput({ a: 'A' }, 'r2', (resume) => resumes.push(resume)),
  );
  assert.equal(resumes.length, 0);
  assert.deepEqual(Object.keys(partial.inputRequests ?? {}), ['b']);
  const last = taskEdits.answerInput({ b: 'B' }, 'r2', (resume) => resumes.push(resume));
  const working = after(partial, last);
  assert.equal(working.status, 'working');
  assert.equal(working.runner, 'r2');
  // A store retrying a compare-and-set applies the edit again: it keeps the resume of the try that won.
  after(partial, last);
  assert.deepEqual(resumes, [
    { inputResponses: { a: 'A', b: 'B' }, requestState: 's1' },
    { inputResponses: { a: 'A', b: 'B' }, requestState: 's1' },
  ]);
  assert.equal(
    applyTaskEdit(
      working,
      taskEdits.answerInput({ b: 'B' }, 'r3', () => assert.fail()),
      3_000,
    ),
    undefined,
  );
});

test('complete, cancel and fail end an unfinished task and clear its runner and input; an ended task stays as it is', () => {
  const waiting = after(created(), taskEdits.requestInput({ inputRequests: { a: {} }, requestState: undefined }));
  const completed = after(created(), taskEdits.complete({ result: { content: [] }, statusMessage: 'done' }));
  assert.deepEqual(
    [completed.status, completed.result, completed.statusMessage, completed.runner],
    ['completed', { content: [] }, 'done', undefined],
  );
  const failed = after(waiting, taskEdits.complete({ error: { code: -32602, message: 'bad' } }));
  assert.deepEqual(
    [failed.status, failed.error, failed.inputRequests, failed.round],
    ['failed', { code: -32602, message: 'bad' }, undefined, undefined],
  );
  const cancelled = after(waiting, taskEdits.cancel('Cancelled by the client'));
  assert.deepEqual([cancelled.status, cancelled.statusMessage], ['cancelled', 'Cancelled by the client']);
  const closed = after(waiting, taskEdits.fail(gone));
  assert.deepEqual([closed.status, closed.error, closed.statusMessage], ['failed', gone, 'runner gone']);
  for (const ended of [completed, failed, cancelled, closed]) {
    for (const edit of [
      taskEdits.complete({ result: {} }),
      taskEdits.cancel('again'),
      taskEdits.fail(gone),
      taskEdits.abandon(gone),
    ]) {
      assert.equal(applyTaskEdit(ended, edit, 3_000), undefined, ended.status);
    }
  }
});

test('abandon fails a working task only: a task waiting for input runs nowhere, so it is left alone', () => {
  const abandoned = after(created(), taskEdits.abandon(gone));
  assert.deepEqual([abandoned.status, abandoned.error, abandoned.runner], ['failed', gone, undefined]);
  const waiting = after(created(), taskEdits.requestInput({ inputRequests: { a: {} }, requestState: undefined }));
  assert.equal(applyTaskEdit(waiting, taskEdits.abandon(gone), 3_000), undefined);
});
