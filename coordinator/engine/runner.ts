// The two ways of running a global transaction (saga.ts, xa.ts) behind one interface:
// coordinator/main.ts picks the one of TX_MODE for new transactions, and recovery finishes each
// transaction with the runner of the mode it began in (so a mode switch strands nothing).
import type { Logger } from '../../lib/log';
import type { TxMetrics } from '../../lib/metrics';
import type { TxMode } from '../../lib/txMode';
import type { BranchCalls, TxRun } from './branches';
import type { AnyFlow } from './flow';
import type { Outcome, TxLog, TxRecord, TxState } from './log';
import type { RecoveryAction } from './recover';

export interface TxRunner {
  readonly mode: TxMode;
  /** Runs a transaction this process just began, to the outcome its client gets. */
  run(tx: TxRun, flow: AnyFlow, input: unknown): Promise<Outcome>;
  /** Carries out recovery's decision on a transaction left open (see recover.ts). */
  recover(tx: TxRun, flow: AnyFlow, rec: TxRecord, action: RecoveryAction): Promise<void>;
}

/** When recovery tries an unfinished transaction again, and when it stops trying. */
export interface RetryPolicy {
  /** Delay after the first failed attempt; it doubles with each further one... */
  baseMs: number;
  /** ...up to this. */
  maxMs: number;
  /** After this many failed recovery attempts the transaction is parked for an operator. */
  parkAfterAttempts: number;
}

/** What both runners work with. */
export interface RunnerDeps {
  txLog: TxLog;
  calls: BranchCalls;
  /** How long a request retries phase 2 or compensations before leaving them to recovery. */
  inlineFinishMs: number;
  retry: RetryPolicy;
  /** How long a run waits for the outcome of a transaction someone else decided. */
  awaitOutcomeMs: number;
  log: Logger;
  metrics: TxMetrics;
}

/**
 * Leaves an unfinished transaction to recovery, with what stopped this attempt and the branches'
 * view of it (for operators, in the same round trip): due again after a delay that grows with
 * every failed attempt, or — after too many — parked (STUCK) until an operator retries it, with a
 * metric and an error log line that say so.
 */
export async function postpone(
  deps: RunnerDeps,
  tx: TxRun,
  state: TxState,
  error: string,
): Promise<void> {
  const now = new Date();
  const { retry } = deps;
  if (tx.attempts < retry.parkAfterAttempts) {
    const delay = Math.min(retry.maxMs, retry.baseMs * 2 ** Math.max(0, tx.attempts - 1));
    await deps.txLog.postpone(
      tx.gid,
      new Date(now.getTime() + delay),
      error,
      now,
      tx.claim,
      tx.branches(),
    );
    return;
  }
  if (!(await deps.txLog.park(tx.gid, error, now, tx.claim, tx.branches()))) return;
  deps.metrics.parked.inc({ flow: tx.flow, state });
  deps.log.error(
    { gid: tx.gid, flow: tx.flow, mode: tx.mode, state, attempts: tx.attempts, error },
    'transaction parked: recovery kept failing; an operator must retry it (RetryTransaction)',
  );
}
