/**
 * The changes a `TaskStore` makes to a task record, one edit per method
 * that changes a task. Pure: an edit takes the record as the store holds it
 * and returns the fields to set, or `undefined` to leave the record as it is
 * (a terminal task, or one in a status the change does not apply to).
 * `InMemoryTaskStore` and `RedisTaskStore` (@mummyx/redis) both apply these,
 * so a task changes the same way whichever store holds it; a store of your
 * own can too.
 */
import { changed, isTerminal, uniqueInputKeys, type TaskError, type TaskRecord } from './task.js';

/** The tool asked for input: its requests by its own keys, and the state to hand back with the answers. */
export interface InputRound {
  readonly inputRequests: Readonly<Record<string, unknown>>;
  readonly requestState: string | undefined;
}

/** Every outstanding request is answered: what the tool's next round gets, by the tool's own keys. */
export interface InputResume {
  readonly inputResponses: Readonly<Record<string, unknown>>;
  readonly requestState: string | undefined;
}

/** How a task ended on its own: the tool's result (`completed`) or a JSON-RPC error (`failed`). */
export type TaskOutcome =
  | { readonly result: Readonly<Record<string, unknown>>; readonly statusMessage?: string }
  | { readonly error: TaskError; readonly statusMessage?: string };

/** A change to a record: the fields to set, or undefined to leave it as it is. */
export type TaskEdit = (record: TaskRecord) => Partial<TaskRecord> | undefined;

/**
 * `record` after `edit`, stamped `lastUpdatedAtMs` (never earlier than it
 * was), frozen; `undefined` when the edit leaves it as it is.
 */
export function applyTaskEdit(record: TaskRecord, edit: TaskEdit, nowMs: number): TaskRecord | undefined {
  const changes = edit(record);
  return changes === undefined ? undefined : changed(record, changes, nowMs);
}

/** The fields that end a task: nothing runs it or waits for input any more. */
const ended = { runner: undefined, inputRequests: undefined, round: undefined } as const;

/** Ends an unfinished task `failed` with `error`, its message as the status message. */
function fail(error: TaskError): TaskEdit {
  return (record) =>
    isTerminal(record.status) ? undefined : { status: 'failed', error, statusMessage: error.message, ...ended };
}

/** The edit behind each `TaskStore` method that changes a task (and two a store may need besides). */
export const taskEdits = Object.freeze({
  /** `update`: a new status message for a `working` task (progress). */
  update:
    (statusMessage: string): TaskEdit =>
    (record) =>
      record.status === 'working' ? { statusMessage } : undefined,

  /**
   * `requestInput`: a `working` task becomes `input_required`, waiting for
   * the requests under keys it never used (the tool's own keys while new).
   */
  requestInput:
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
    },

  /**
   * `answerInput`: answers to outstanding keys are kept, others ignored;
   * once none is outstanding the task is `working` again on `runner`, and
   * `resumed` is called with what the tool's next round takes. A store
   * that may apply the edit more than once (a retried compare-and-set)
   * keeps only the call made by the application that won.
   */
  answerInput:
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
    },

  /** `complete`: ends an unfinished task `completed` or `failed`. */
  complete:
    (outcome: TaskOutcome): TaskEdit =>
    (record) => {
      if (isTerminal(record.status)) return undefined;
      const ending =
        'result' in outcome
          ? { status: 'completed' as const, result: outcome.result }
          : { status: 'failed' as const, error: outcome.error };
      return { ...ending, statusMessage: outcome.statusMessage, ...ended };
    },

  /** `cancel`: ends an unfinished task `cancelled`. */
  cancel:
    (statusMessage: string): TaskEdit =>
    (record) =>
      isTerminal(record.status) ? undefined : { status: 'cancelled', statusMessage, ...ended },

  /** Fails a task that is still `working` (its runner is gone); one waiting for input is left alone. */
  abandon:
    (error: TaskError): TaskEdit =>
    (record) =>
      record.status === 'working' ? fail(error)(record) : undefined,

  /** Fails an unfinished task, in any status (the store is closing). */
  fail,
});
