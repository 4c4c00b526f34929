// The saga runner: each step is a local transaction in its participant, behind the barrier.
// Unknown answers are retried until the deadline (a duplicate action is a no-op that answers the
// first result); a refusal, or no answer by the deadline, compensates the finished steps in
// reverse. Steps past the pivot must succeed and are driven forward, by recovery if need be.
import type { TxMetrics } from '../../lib/metrics';
import { failpoint } from '../../lib/failpoints';
import type { BranchRef, TxRun } from './branches';
import type { CallResult } from './calls';
import { StepResults, sagaPlan, type AnyFlow, type AnyStep } from './flow';
import type { Outcome, TxRecord } from './log';
import { describe, interrupted, othersOutcome, refusal } from './outcome';
import type { RecoveryAction } from './recover';
import { postpone, type RunnerDeps, type TxRunner } from './runner';

export class SagaRunner implements TxRunner {
  readonly mode = 'saga' as const;

  constructor(
    private readonly deps: RunnerDeps,
    private readonly metrics: TxMetrics,
  ) {}

  run(tx: TxRun, flow: AnyFlow, input: unknown): Promise<Outcome> {
    return this.forward(tx, flow, input);
  }

  async recover(tx: TxRun, flow: AnyFlow, rec: TxRecord, action: RecoveryAction): Promise<void> {
    switch (action) {
      case 'resume':
        await this.forward(tx, flow, rec.payload);
        return;
      case 'compensate': {
        if (rec.state === 'COMPENSATING') {
          await this.compensate(tx, rec.payload, flow.steps, rec.outcome!);
          return;
        }
        // RUNNING past its deadline; a recovery run knows no calls, so every step is undone.
        const outcome = interrupted('the transaction ran out of time');
        const moved = await this.deps.txLog.transition(
          tx.gid,
          'RUNNING',
          'COMPENSATING',
          new Date(),
          { outcome, claim: tx.claim },
        );
        if (moved) await this.compensate(tx, rec.payload, flow.steps, outcome);
        return;
      }
      default:
        throw new Error(`transaction ${tx.gid}: a saga cannot ${action}`);
    }
  }

  /**
   * Runs the steps wave by wave (sagaPlan: in parallel where their needs allow); finished steps
   * of an earlier run answer their stored results.
   */
  private async forward(tx: TxRun, flow: AnyFlow, input: unknown): Promise<Outcome> {
    const { calls } = this.deps;
    const results = new StepResults();
    const ran: AnyStep[] = [];
    for (const wave of sagaPlan(flow)) {
      const answers = await Promise.all(
        wave.map(async (step) => {
          const r = await calls.until(
            tx,
            step,
            'action',
            () =>
              step.action({
                input,
                results,
                call: calls.callOptions(tx, { branchId: step.id, op: 'action' }),
              }),
            {
              until: step.mustSucceed
                ? Date.now() + this.deps.inlineFinishMs
                : tx.deadlineAt.getTime(),
              mustSucceed: step.mustSucceed,
            },
          );
          if (r.kind === 'done') {
            results.set(step, r.value);
            await failpoint(`coordinator.saga.after-${step.id}`);
          }
          return { step, r };
        }),
      );
      // Whatever may have run is undone if the saga is: all but a step refused on its only call.
      for (const { step, r } of answers) if (!refusedAlone(tx, step, r)) ran.push(step);
      const failed = answers.filter((a) => a.r.kind !== 'done');
      if (failed.length === 0) continue;
      // Answers no one can act on yet. Past the pivot the outcome is decided: recovery finishes
      // the remaining steps. A step that cannot be undone must be known to have run or not
      // before anything is decided. And in a recovery run an earlier run may have got further
      // than an unknown answer shows (up to a pivot whose effects are out): only a refusal
      // proves a step never ran. So ask again later.
      const open = failed.find(
        ({ step, r }) =>
          step.mustSucceed || (r.kind === 'unknown' && (!tx.fresh || !step.compensate)),
      );
      if (open) {
        await postpone(
          this.deps,
          tx,
          'RUNNING',
          `step ${open.step.id} is not finished yet: ${describe(open.r)}`,
        );
        return interrupted('the request was accepted and will complete shortly');
      }
      const { step } = failed[0];
      // Refused, or unknown until the deadline: undo everything that may have run.
      const refused = answers.find((a) => a.r.kind === 'refused');
      const outcome =
        refused?.r.kind === 'refused'
          ? refusal(refused.r.error)
          : interrupted(`step ${step.id} did not answer in time`);
      return this.abandon(tx, input, ran, outcome);
    }
    const outcome: Outcome = { ok: true, value: flow.output(input, results) };
    return this.end(tx, 'COMMITTED', outcome);
  }

  /** Ends a RUNNING saga with `outcome`: compensates what ran, or aborts at once if nothing did. */
  private async abandon(
    tx: TxRun,
    input: unknown,
    ran: readonly AnyStep[],
    outcome: Outcome,
  ): Promise<Outcome> {
    const undo = ran.filter((s) => s.compensate !== undefined);
    if (undo.length === 0) return this.end(tx, 'ABORTED', outcome);
    const moved = await this.deps.txLog.transition(tx.gid, 'RUNNING', 'COMPENSATING', new Date(), {
      outcome,
      branches: tx.branches(),
      claim: tx.claim,
    });
    if (!moved) return this.othersOutcome(tx);
    await this.compensate(tx, input, undo, outcome);
    return outcome;
  }

  /** RUNNING to a terminal state; someone else's outcome if they moved it first. */
  private async end(tx: TxRun, to: 'COMMITTED' | 'ABORTED', outcome: Outcome): Promise<Outcome> {
    const moved = await this.deps.txLog.transition(tx.gid, 'RUNNING', to, new Date(), {
      outcome,
      branches: tx.branches(),
      claim: tx.claim,
    });
    return moved ? outcome : this.othersOutcome(tx);
  }

  /** Compensates steps in reverse; each is retried until it succeeds (recovery continues it). */
  private async compensate(
    tx: TxRun,
    input: unknown,
    steps: readonly AnyStep[],
    outcome: Outcome,
  ): Promise<void> {
    const { calls } = this.deps;
    const until = Date.now() + this.deps.inlineFinishMs;
    for (const step of [...steps].reverse()) {
      const undo = step.compensate?.bind(step);
      if (!undo) continue;
      const r = await calls.until(
        tx,
        step,
        'compensate',
        () => undo({ input, call: calls.callOptions(tx, { branchId: step.id, op: 'compensate' }) }),
        { until, mustSucceed: true },
      );
      if (r.kind !== 'done') {
        await postpone(this.deps, tx, 'COMPENSATING', `compensation of ${step.id}: ${describe(r)}`);
        return;
      }
      this.metrics.compensations.inc({ flow: tx.flow, step: step.id });
    }
    await this.deps.txLog.transition(tx.gid, 'COMPENSATING', 'ABORTED', new Date(), {
      outcome,
      branches: tx.branches(),
      claim: tx.claim,
    });
  }

  private othersOutcome(tx: TxRun): Promise<Outcome> {
    return othersOutcome(this.deps.txLog, tx.gid, Date.now() + this.deps.awaitOutcomeMs);
  }
}

/**
 * A step refused on the only call ever made to it rolled back its own local transaction: there
 * is nothing of it to compensate and no late duplicate that a null compensation must block.
 * After more than one call, or in a recovery run, an earlier call may still land: compensate it.
 */
function refusedAlone(tx: TxRun, step: BranchRef, r: CallResult<unknown>): boolean {
  return tx.fresh && r.kind === 'refused' && tx.branch(step, 'action')?.attempts === 1;
}
