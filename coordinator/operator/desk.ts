// The operators' use cases on global transactions: find them, look at one, retry one, decide one
// in doubt. Every action is a compare-and-set on the state the operator saw, and every action,
// done or refused, leaves a row in the audit trail. The engine knows nothing of this: a retry
// or a decision only makes the transaction due, and recovery does the work.
import { DomainError } from '../../lib/errors';
import type { BranchRecord, TxLog } from '../engine/log';
import { presumedAbort, xaDecision } from '../engine/xa';
import { listLimit, notFound } from '../requests';
import type { ActionRecord, OperatorData, TxDetail, TxSummary } from './data';
import {
  expectedState,
  isOpen,
  pageToken,
  shownState,
  type ShownState,
  type TxQuery,
} from './rules';

export interface TxPage {
  transactions: TxSummary[];
  nextPageToken: string;
  counts: Map<string, number>;
}

export interface TxView extends TxDetail {
  branches: BranchRecord[];
  actions: ActionRecord[];
}

/** Who acts: the admin user the gateway names, or "operator" (a tool of that identity). */
export type Actor = string;

const ACTIONS_SHOWN = 50;

export class OperatorDesk {
  constructor(
    private readonly data: OperatorData,
    private readonly txLog: TxLog,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async list(query: TxQuery): Promise<TxPage> {
    const now = this.clock();
    const [rows, counts] = await Promise.all([
      this.data.list(query.filter, now, query.limit + 1, query.after),
      this.data.counts(query.filter, now),
    ]);
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      transactions: page,
      nextPageToken: rows.length > query.limit && last ? pageToken(last) : '',
      counts,
    };
  }

  async show(gid: string): Promise<TxView> {
    const tx = await this.data.get(gid);
    if (!tx) throw notFound(gid);
    const [branches, actions] = await Promise.all([
      this.txLog.branches(gid),
      this.data.actions(gid, ACTIONS_SHOWN),
    ]);
    return { ...tx, branches, actions };
  }

  /** Recovery takes the transaction up now (unparked), if it is still as the operator saw it. */
  async retry(gid: string, seen: string, actor: Actor): Promise<TxView> {
    const expected = expectedState(seen);
    const now = this.clock();
    const audit = this.auditOf('retry', gid, expected, actor, now);
    if (expected === 'STUCK' || isOpen(expected)) {
      if (await this.data.retry(gid, expected, now, actor)) {
        await audit('DONE', 'due now: recovery takes it up');
        return this.show(gid);
      }
    }
    throw await this.refusal(gid, expected, audit);
  }

  /**
   * DecideOutcome's rule applied now by an operator: an XA transaction in doubt (RUNNING past
   * its deadline, nothing decided) is presumed aborted — ABORTING, due now, so recovery rolls
   * its branches back. Refused when the rule leaves nothing to decide.
   */
  async decide(
    gid: string,
    seen: string,
    actor: Actor,
  ): Promise<{ decision: 'ROLLBACK'; transaction: TxView }> {
    const expected = expectedState(seen);
    const now = this.clock();
    const audit = this.auditOf('decide', gid, expected, actor, now);
    const tx = await this.data.get(gid);
    if (!tx || shownState(tx) !== expected) throw await this.refusal(gid, expected, audit, tx);
    const rule = tx.mode === 'xa' ? xaDecision(tx, now) : undefined;
    if (rule !== 'PRESUME_ABORT') {
      const why = notInDoubt(tx, rule);
      await audit('REFUSED', why.message);
      throw why;
    }
    const seenAs = expected === 'STUCK' ? 'STUCK' : 'RUNNING';
    if (!(await this.data.presumeAbort(gid, seenAs, presumedAbort(now), now, actor)))
      throw await this.refusal(gid, expected, audit);
    await audit('DONE', 'ROLLBACK: presumed abort; recovery rolls the branches back');
    return { decision: 'ROLLBACK', transaction: await this.show(gid) };
  }

  /** An action taken elsewhere (the ops service's, on parked events), into the audit trail. */
  async record(a: Omit<ActionRecord, 'at' | 'expectedState'>): Promise<void> {
    await this.data.record({ ...a, at: this.clock(), expectedState: null });
  }

  actions(target: string, limit: number): Promise<ActionRecord[]> {
    return this.data.actions(target || undefined, listLimit(limit));
  }

  private auditOf(
    action: string,
    gid: string,
    expected: ShownState,
    actor: Actor,
    at: Date,
  ): (result: ActionRecord['result'], detail: string) => Promise<void> {
    return (result, detail) =>
      this.data.record({ at, actor, action, target: gid, expectedState: expected, result, detail });
  }

  /**
   * Why an action on `gid` seen as `expected` did not happen, recorded: unknown, moved on since
   * (with its state now), or ended.
   */
  private async refusal(
    gid: string,
    expected: ShownState,
    audit: (result: 'REFUSED', detail: string) => Promise<void>,
    known?: TxDetail,
  ): Promise<DomainError> {
    const tx = known ?? (await this.data.get(gid));
    let err: DomainError;
    if (!tx) err = notFound(gid);
    else if (shownState(tx) !== expected)
      err = new DomainError(
        'TRANSACTION_STATE_CHANGED',
        `transaction ${gid} is ${shownState(tx)} now, not ${expected}`,
        { state: shownState(tx) },
      );
    else
      err = new DomainError('TRANSACTION_ENDED', `transaction ${gid} is ${tx.state}`, {
        state: tx.state,
      });
    await audit('REFUSED', err.message);
    return err;
  }
}

function notInDoubt(tx: TxDetail, rule: ReturnType<typeof xaDecision> | undefined): DomainError {
  const state = shownState(tx);
  if (rule === undefined)
    return new DomainError(
      'TRANSACTION_NOT_IN_DOUBT',
      `transaction ${tx.gid} is a saga: it has no decision to make (retry runs its recovery)`,
      { state },
    );
  if (rule === 'PENDING')
    return new DomainError(
      'TRANSACTION_NOT_IN_DOUBT',
      `transaction ${tx.gid} is within its time to live until ${tx.deadlineAt.toISOString()}: nothing to decide yet`,
      { state, decidableAt: tx.deadlineAt.toISOString() },
    );
  if (!isOpen(tx.state))
    return new DomainError('TRANSACTION_ENDED', `transaction ${tx.gid} is ${tx.state}`, {
      state: tx.state,
    });
  return new DomainError(
    'TRANSACTION_NOT_IN_DOUBT',
    `transaction ${tx.gid} is decided already (${rule}): recovery applies it (retry to apply it now)`,
    { state, decision: rule },
  );
}
