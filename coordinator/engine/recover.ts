// Recovery's decision: what to do with a transaction found open in the log. One pure function,
// used both to label the recovery metric and to drive the runner, so the two never disagree.
import { recoversForward, type AnyFlow } from './flow';
import type { TxRecord } from './log';

/**
 * - commit / rollback: resend XA phase 2 for the decision in the log;
 * - abort: an XA transaction interrupted before its decision (its branch sessions died with
 *   their owner) can only abort;
 * - resume: run a saga forward again (finished steps answer their stored results);
 * - compensate: undo a saga's finished steps in reverse.
 */
export type RecoveryAction = 'commit' | 'rollback' | 'abort' | 'resume' | 'compensate';

/** What recovery does with `rec` at `now`; undefined for a transaction that already ended. */
export function recoveryAction(
  rec: Pick<TxRecord, 'state' | 'mode' | 'deadlineAt'>,
  flow: AnyFlow,
  now: Date,
): RecoveryAction | undefined {
  switch (rec.state) {
    case 'COMMITTING':
      return 'commit';
    case 'ABORTING':
      return 'rollback';
    case 'COMPENSATING':
      return 'compensate';
    case 'RUNNING':
      if (rec.mode === 'xa') return 'abort';
      // Past a pivot the outcome is decided: such a flow is always driven forward.
      return now < rec.deadlineAt || recoversForward(flow) ? 'resume' : 'compensate';
    default:
      return undefined;
  }
}
