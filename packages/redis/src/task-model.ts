// The task records of the MCP Tasks extension, whose types @mummyx/mcp-transport's TaskStore
// interface defines (imported as types only: the transport stays an optional peer), and the
// changes a store makes to them: pure functions, values in, values out.

import type {
  InputResume,
  InputRound,
  NewTask,
  TaskError,
  TaskOutcome,
  TaskRecord,
  TaskStatus,
} from '@mummyx/mcp-transport';

export type {
  InputResume,
  InputRound,
  NewTask,
  PollBudget,
  TaskCall,
  TaskError,
  TaskInputRound,
  TaskLimits,
  TaskListener,
  TaskOutcome,
  TaskPoll,
  TaskRecord,
  TaskStatus,
} from '@mummyx/mcp-transport';

export function isTerminal(status: TaskStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}

/** A new record, `working`, created at `nowMs`. Fields left undefined are left out of the JSON Redis keeps. */
export function newTaskRecord(task: NewTask, nowMs: number): TaskRecord {
  return {
    taskId: task.taskId,
    principal: task.principal,
    status: 'working',
    statusMessage: undefined,
    createdAtMs: nowMs,
    lastUpdatedAtMs: nowMs,
    ttlMs: task.ttlMs,
    pollIntervalMs: task.pollIntervalMs,
    runner: task.runner,
    call: task.call,
    inputRequests: undefined,
    round: undefined,
    usedKeys: [],
    rounds: 0,
    result: undefined,
    error: undefined,
  };
}

/** A record read back from JSON: every optional field present (as undefined when absent). */
export function recordOf(json: string): TaskRecord {
  const parsed = JSON.parse(json) as TaskRecord;
  return {
    ...parsed,
    statusMessage: parsed.statusMessage,
    runner: parsed.runner,
    inputRequests: parsed.inputRequests,
    round: parsed.round,
    result: parsed.result,
    error: parsed.error,
  };
}

/** A change to a record: the fields to set, or undefined to leave it as it is. */
export type TaskEdit = (record: TaskRecord) => Partial<TaskRecord> | undefined;

export function applyEdit(record: TaskRecord, changes: Partial<TaskRecord>, nowMs: number): TaskRecord {
  return { ...record, ...changes, lastUpdatedAtMs: Math.max(nowMs, record.lastUpdatedAtMs) };
}

/** Wire keys for the tool's keys: its own key while unused, else the first free `key~n`. */
function uniqueInputKeys(toolKeys: readonly string[], usedKeys: readonly string[]): Record<string, string> {
  const taken = new Set(usedKeys);
  const keys: Record<string, string> = {};
  for (const toolKey of toolKeys) {
    let wireKey = toolKey;
    for (let n = 2; taken.has(wireKey); n++) wireKey = `${toolKey}~${n}`;
    taken.add(wireKey);
    keys[wireKey] = toolKey;
  }
  return keys;
}

/** Progress: a new status message for a `working` task. */
export const statusEdit =
  (statusMessage: string): TaskEdit =>
  (record) =>
    record.status === 'working' ? { statusMessage } : undefined;

/** The tool asked for input: a `working` task waits for answers under keys it never used. */
export const requestInputEdit =
  (round: InputRound): TaskEdit =>
  (record) => {
    if (record.status !== 'working') return undefined;
    const keys = uniqueInputKeys(Object.keys(round.inputRequests), record.usedKeys);
    const inputRequests: Record<string, unknown> = {};
    for (const [wireKey, toolKey] of Object.entries(keys)) inputRequests[wireKey] = round.inputRequests[toolKey];
    return {
      status: 'input_required',
      statusMessage: 'Waiting for input from the client',
      runner: undefined,
      inputRequests,
      round: { keys, answers: {}, requestState: round.requestState },
      usedKeys: [...record.usedKeys, ...Object.keys(keys)],
      rounds: record.rounds + 1,
    };
  };

/**
 * Answers to outstanding keys are kept; once none is outstanding the task
 * works again on `runner`, and `resumed` gets what the tool's next round takes.
 */
export const answerInputEdit =
  (
    inputResponses: Readonly<Record<string, unknown>>,
    runner: string,
    resumed: (resume: InputResume) => void,
  ): TaskEdit =>
  (record) => {
    const outstanding = record.inputRequests;
    const round = record.round;
    if (record.status !== 'input_required' || outstanding === undefined || round === undefined) return undefined;
    const remaining: Record<string, unknown> = { ...outstanding };
    const answers: Record<string, unknown> = { ...round.answers };
    let matched = false;
    for (const [key, response] of Object.entries(inputResponses)) {
      if (!Object.hasOwn(remaining, key)) continue;
      delete remaining[key];
      answers[key] = response;
      matched = true;
    }
    if (!matched) return undefined;
    if (Object.keys(remaining).length > 0) return { inputRequests: remaining, round: { ...round, answers } };
    const byToolKey: Record<string, unknown> = {};
    for (const [wireKey, answer] of Object.entries(answers)) byToolKey[round.keys[wireKey] ?? wireKey] = answer;
    resumed({ inputResponses: byToolKey, requestState: round.requestState });
    return { status: 'working', statusMessage: undefined, runner, inputRequests: undefined, round: undefined };
  };

/** Ends an unfinished task `completed` or `failed`. */
export const completeEdit =
  (outcome: TaskOutcome): TaskEdit =>
  (record) => {
    if (isTerminal(record.status)) return undefined;
    const ending =
      'result' in outcome
        ? { status: 'completed' as const, result: outcome.result }
        : { status: 'failed' as const, error: outcome.error };
    return {
      ...ending,
      statusMessage: outcome.statusMessage,
      runner: undefined,
      inputRequests: undefined,
      round: undefined,
    };
  };

/** Ends an unfinished task `cancelled`. */
export const cancelEdit =
  (statusMessage: string): TaskEdit =>
  (record) =>
    isTerminal(record.status)
      ? undefined
      : { status: 'cancelled', statusMessage, runner: undefined, inputRequests: undefined, round: undefined };

/** Fails a task that is still `working` (its runner is gone). */
export const abandonEdit =
  (error: TaskError): TaskEdit =>
  (record) =>
    record.status !== 'working'
      ? undefined
      : {
          status: 'failed',
          error,
          statusMessage: error.message,
          runner: undefined,
          inputRequests: undefined,
          round: undefined,
        };
