// The two ways of running a global transaction (saga.ts, xa.ts) behind one interface:
// coordinator/main.ts picks the one of TX_MODE for new transactions, and recovery finishes each
// transaction with the runner of the mode it began in (so a mode switch strands nothing).
import type { TxMode } from '../../lib/txMode';
import type { BranchCalls, TxRun } from './branches';
import type { AnyFlow } from './flow';
import type { Outcome, TxLog, TxRecord } from './log';
import type { RecoveryAction } from './recover';

export interface TxRunner {
  readonly mode: TxMode;
  /** Runs a transaction this process just began, to the outcome its client gets. */
  run(tx: TxRun, flow: AnyFlow, input: unknown): Promise<Outcome>;
  /** Carries out recovery's decision on a transaction left open (see recover.ts). */
  recover(tx: TxRun, flow: AnyFlow, rec: TxRecord, action: RecoveryAction): Promise<void>;
}

/** What both runners work with. */
export interface RunnerDeps {
  txLog: TxLog;
  calls: BranchCalls;
  /** How long a request retries phase 2 or compensations before leaving them to recovery. */
  inlineFinishMs: number;
  /** How far out a postponed transaction's next recovery attempt is. */
  retryAfterMs: number;
  /** How long a run waits for the outcome of a transaction someone else decided. */
  awaitOutcomeMs: number;
}

/** Pushes the transaction's next recovery attempt out, with what stopped this one. */
export function postpone(deps: RunnerDeps, tx: TxRun, error: string): Promise<void> {
  return deps.txLog.postpone(tx.gid, new Date(Date.now() + deps.retryAfterMs), error, new Date());
}
