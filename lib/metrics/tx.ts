// The coordinator's counters of global transactions. Every label is required, and every value
// must come from a bounded set (flow and step names, participant names, TX_MODE, states): never
// a gid, user or error message.
import {
  TX_BRANCH_RETRIES,
  TX_COMPENSATIONS,
  TX_GUARD_REFUSALS,
  TX_PARKED,
  TX_RECOVERY_ACTIONS,
  TX_TOTAL,
} from './catalog';
import type { MetricDef, Metrics } from './registry';

export interface LabelledCounter<L extends string> {
  inc(labels: Record<L, string>, by?: number): void;
}

export interface TxMetrics {
  /** tx_total{flow,mode,outcome}: one per global transaction reaching its outcome. */
  transactions: LabelledCounter<'flow' | 'mode' | 'outcome'>;
  /** tx_guard_refusals_total{flow,reason}: one per request refused before a transaction began. */
  guardRefusals: LabelledCounter<'flow' | 'reason'>;
  /** tx_branch_retries_total{flow,participant,action}: one per retried branch call. */
  branchRetries: LabelledCounter<'flow' | 'participant' | 'action'>;
  /** tx_compensations_total{flow,step}: one per saga step compensated. */
  compensations: LabelledCounter<'flow' | 'step'>;
  /** tx_recovery_actions_total{state,action}: one per action recovery takes. */
  recoveryActions: LabelledCounter<'state' | 'action'>;
  /** tx_parked_total{flow,state}: one per transaction parked for an operator. */
  parked: LabelledCounter<'flow' | 'state'>;
}

/** The transaction counters in this registry (the same ones however often it is called). */
export function createTxMetrics(metrics: Metrics): TxMetrics {
  return {
    transactions: counter(metrics, TX_TOTAL),
    guardRefusals: counter(metrics, TX_GUARD_REFUSALS),
    branchRetries: counter(metrics, TX_BRANCH_RETRIES),
    compensations: counter(metrics, TX_COMPENSATIONS),
    recoveryActions: counter(metrics, TX_RECOVERY_ACTIONS),
    parked: counter(metrics, TX_PARKED),
  };
}

function counter<L extends string>(metrics: Metrics, def: MetricDef<L>): LabelledCounter<L> {
  const c = metrics.counter(def);
  return { inc: (labels, by = 1) => c.inc(labels as Partial<Record<L, string>>, by) };
}
