// What a processing step makes of one record: a value to go on with, a dead
// letter (with the reason and the original record), or a drop that is counted
// but sends nothing (an event of an erased user). Steps return these instead
// of throwing, so the round decides, in one place, what is sent, counted and
// logged (dead-letters.ts).
import type { DeadLetterReason } from '@optout/kafka';

export type StepResult<T> =
  | { type: 'ok'; value: T }
  | { type: 'dlq'; reason: DeadLetterReason; detail: string }
  | { type: 'drop'; reason: DropReason };

/** Why an admitted-looking record is not processed, without a dead letter. */
export type DropReason = 'erased';

export const ok = <T>(value: T): StepResult<T> => ({ type: 'ok', value });

export const dlq = (reason: DeadLetterReason, detail: string): StepResult<never> => ({
  type: 'dlq',
  reason,
  detail,
});

export const drop = (reason: DropReason): StepResult<never> => ({ type: 'drop', reason });
