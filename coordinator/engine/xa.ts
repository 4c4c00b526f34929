// The XA runner: one XA branch per participant database, prepared after the participant's last
// step; steps run in waves by data dependency. Every branch voted yes: the decision (COMMITTING)
// is durable before the first phase-2 call; any refusal or unknown answer aborts (an XA action
// is never retried: a timed-out call may still be running inside its branch).
import { failpoint } from '../../lib/failpoints';
import type { CallOptions } from '../../lib/grpc/client';
import type { TxRun } from './branches';
import { StepResults, participantsOf, xaPlan, type AnyFlow } from './flow';
import type { Outcome, TxLog, TxRecord, TxState } from './log';
import { describe, interrupted, othersOutcome, refusal } from './outcome';
import type { RecoveryAction } from './recover';
import { postpone, type RunnerDeps, type TxRunner } from './runner';

/**
 * Phase 2 of XA, per participant service, with the signed context of the call. Both must treat
 * an unknown branch as done.
 */
export interface PhaseTwo {
  commit(participant: string, gid: string, call: CallOptions): Promise<void>;
  rollback(participant: string, gid: string, call: CallOptions): Promise<void>;
}

/** Phase 2 in one direction: the decision, and the log states it moves between. */
interface Finish {
  verb: 'commit' | 'rollback';
  outcome: Outcome;
  from: TxState;
  to: TxState;
  /** The participants that may hold a branch (default: every participant of the flow). */
  participants?: string[];
}

export class XaRunner implements TxRunner {
  readonly mode = 'xa' as const;

  constructor(
    private readonly deps: RunnerDeps,
    private readonly phase2: PhaseTwo,
  ) {}

  async run(tx: TxRun, flow: AnyFlow, input: unknown): Promise<Outcome> {
    const { calls, txLog } = this.deps;
    const { waves, lastOf } = xaPlan(flow);
    const results = new StepResults();
    for (const wave of waves) {
      const answers = await Promise.all(
        wave.map(async (step) => {
          const prepare = lastOf.get(step.participant) === step.id;
          const phase = prepare
            ? { name: 'prepare', okState: 'PREPARED' }
            : { name: 'action', okState: 'DONE' };
          const r = await calls.once(tx, step, phase, () =>
            step.action({
              input,
              results,
              // One branch per participant database: its id is the participant's.
              call: calls.callOptions(tx, { branchId: step.participant, op: 'action', prepare }),
            }),
          );
          return { step, r };
        }),
      );
      for (const { step, r } of answers) {
        if (r.kind === 'done') {
          results.set(step, r.value);
          continue;
        }
        const outcome =
          r.kind === 'refused'
            ? refusal(r.error)
            : interrupted(`step ${step.id} could not be reached`);
        return this.abort(tx, flow, outcome);
      }
    }
    await failpoint('coordinator.xa.before-decision');
    // Every branch voted yes: the decision is durable before any phase-2 call.
    const outcome: Outcome = { ok: true, value: flow.output(input, results) };
    const decided = await txLog.transition(tx.gid, 'RUNNING', 'COMMITTING', new Date(), {
      outcome,
      branches: tx.branches(),
      claim: tx.claim,
    });
    if (!decided) return this.followDecision(tx, flow);
    await failpoint('coordinator.xa.after-decision');
    await this.finish(tx, flow, { verb: 'commit', outcome, from: 'COMMITTING', to: 'COMMITTED' });
    return outcome;
  }

  async recover(tx: TxRun, flow: AnyFlow, rec: TxRecord, action: RecoveryAction): Promise<void> {
    switch (action) {
      case 'commit':
        await this.finish(tx, flow, {
          verb: 'commit',
          outcome: rec.outcome!,
          from: 'COMMITTING',
          to: 'COMMITTED',
        });
        return;
      case 'rollback':
        await this.finish(tx, flow, {
          verb: 'rollback',
          outcome: rec.outcome!,
          from: 'ABORTING',
          to: 'ABORTED',
        });
        return;
      case 'abort':
        // The branch sessions died with their owner: the only safe outcome is to abort.
        await this.abort(
          tx,
          flow,
          interrupted('the coordinator was interrupted before the decision'),
        );
        return;
      default:
        throw new Error(`transaction ${tx.gid}: XA cannot ${action}`);
    }
  }

  /** Decides abort (durably) and rolls back every participant that may hold a branch. */
  private async abort(tx: TxRun, flow: AnyFlow, outcome: Outcome): Promise<Outcome> {
    const open = openBranches(flow, tx);
    // With no branch left open anywhere (the first wave refused), aborted in one write.
    const to = open.length === 0 ? 'ABORTED' : 'ABORTING';
    const moved = await this.deps.txLog.transition(tx.gid, 'RUNNING', to, new Date(), {
      outcome,
      branches: tx.branches(),
      claim: tx.claim,
    });
    if (moved && to === 'ABORTED') return outcome;
    if (!moved) {
      const rec = await this.deps.txLog.get(tx.gid);
      if (rec?.state === 'COMMITTING' || rec?.state === 'COMMITTED') return this.othersOutcome(tx);
      outcome = rec?.outcome ?? outcome;
    }
    await this.finish(tx, flow, {
      verb: 'rollback',
      outcome,
      from: 'ABORTING',
      to: 'ABORTED',
      participants: open.length ? open : participantsOf(flow),
    });
    return outcome;
  }

  /** Someone decided first (presumed abort past the deadline): follow their decision. */
  private async followDecision(tx: TxRun, flow: AnyFlow): Promise<Outcome> {
    const rec = await this.deps.txLog.get(tx.gid);
    if (rec?.state === 'COMMITTING' || rec?.state === 'COMMITTED') return this.othersOutcome(tx);
    const outcome = rec?.outcome ?? interrupted('aborted');
    await this.finish(tx, flow, { verb: 'rollback', outcome, from: 'ABORTING', to: 'ABORTED' });
    return outcome;
  }

  /** Phase 2 on the participants, in parallel, each retried until done or the budget is spent. */
  private async finish(tx: TxRun, flow: AnyFlow, f: Finish): Promise<void> {
    const { calls } = this.deps;
    const until = Date.now() + this.deps.inlineFinishMs;
    const results = await Promise.all(
      (f.participants ?? participantsOf(flow)).map((participant) =>
        calls.until(
          tx,
          { id: participant, participant },
          f.verb,
          () =>
            this.phase2[f.verb](
              participant,
              tx.gid,
              calls.callOptions(tx, { branchId: participant, op: f.verb }),
            ),
          { until, mustSucceed: true },
        ),
      ),
    );
    const stuck = results.find((r) => r.kind !== 'done');
    if (stuck) {
      await postpone(this.deps, tx, f.from, `phase 2 ${f.verb}: ${describe(stuck)}`);
      return;
    }
    await this.deps.txLog.transition(tx.gid, f.from, f.to, new Date(), {
      outcome: f.outcome,
      branches: tx.branches(),
      claim: tx.claim,
    });
  }

  private othersOutcome(tx: TxRun): Promise<Outcome> {
    return othersOutcome(this.deps.txLog, tx.gid, Date.now() + this.deps.awaitOutcomeMs);
  }
}

/**
 * The outcome an in-doubt XA participant must apply (DecideOutcome). A gid never logged is
 * presumed aborted; a RUNNING transaction past its deadline is aborted first (compare-and-set),
 * so a late commit decision can never race the presumed abort.
 */
export async function decideOutcome(
  txLog: TxLog,
  gid: string,
): Promise<'COMMIT' | 'ROLLBACK' | 'PENDING'> {
  for (;;) {
    const now = new Date();
    const decision = xaDecision(await txLog.get(gid), now);
    if (decision !== 'PRESUME_ABORT') return decision;
    if (await txLog.transition(gid, 'RUNNING', 'ABORTING', now, presumedAbort(now)))
      return 'ROLLBACK';
  }
}

/**
 * DecideOutcome's rule on what the log holds at `now`. PRESUME_ABORT: RUNNING past its deadline,
 * so it must be moved to ABORTING (compare-and-set, with presumedAbort) before ROLLBACK holds.
 */
export function xaDecision(
  rec: Pick<TxRecord, 'state' | 'deadlineAt'> | undefined,
  now: Date,
): 'COMMIT' | 'ROLLBACK' | 'PENDING' | 'PRESUME_ABORT' {
  if (!rec) return 'ROLLBACK';
  if (rec.state === 'COMMITTING' || rec.state === 'COMMITTED') return 'COMMIT';
  if (rec.state !== 'RUNNING') return 'ROLLBACK';
  return now < rec.deadlineAt ? 'PENDING' : 'PRESUME_ABORT';
}

/** What the move to ABORTING of a presumed abort writes: the outcome, and recovery due now. */
export const presumedAbort = (now: Date): { outcome: Outcome; nextAttemptAt: Date } => ({
  outcome: interrupted('the transaction ran out of time'),
  nextAttemptAt: now,
});

/**
 * Participants that may hold an XA branch of this run. One never called has none; one whose
 * every call was refused rolled its branch back itself. A recovery run knows no calls: all.
 */
function openBranches(flow: AnyFlow, tx: TxRun): string[] {
  if (!tx.fresh) return participantsOf(flow);
  const records = tx.branches();
  return participantsOf(flow).filter((p) =>
    records.some((b) => b.participant === p && b.state !== 'REFUSED'),
  );
}
