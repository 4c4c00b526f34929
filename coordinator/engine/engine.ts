// Runs flows as global transactions, in XA or saga mode, and drives interrupted ones to a
// terminal state. Generic: it knows steps, participants and the log, never concerts.
import { trace, type Span } from '@opentelemetry/api';
import { DomainError } from '../../lib/errors';
import { failpoint } from '../../lib/failpoints';
import {
  contextFrom,
  currentTraceparent,
  inSpan,
  tracer as tracerFor,
} from '../../lib/telemetry/telemetry';
import { newId } from '../../lib/ids';
import { SharedCalls } from '../../lib/sharedCalls';
import type { Logger } from '../../lib/log';
import type { TxMetrics } from '../../lib/metrics';
import { writeTxContext, type TxMode } from '../../lib/participant/context';
import { backoffDelay, classify, sleep, type Backoff, type CallResult } from './calls';
import {
  participantsOf,
  recoversForward,
  xaPlan,
  type Contention,
  type Flow,
  type Step,
  type StepContext,
  type StepResults,
} from './flow';
import type { BranchRecord, Outcome, TxLog, TxRecord, TxState } from './log';
import { Turns, type Turn } from './turns';

/** Phase 2 of XA, per participant service. Both must treat an unknown branch as done. */
export interface PhaseTwo {
  commit(participant: string, gid: string): Promise<void>;
  rollback(participant: string, gid: string): Promise<void>;
}

export interface EngineOptions {
  mode: TxMode;
  /** This coordinator instance (stable across restarts of the same instance). */
  owner: string;
  /** Time to live of a transaction: then XA aborts and a saga compensates. */
  ttlMs: number;
  /** Deadline of one branch call. */
  branchDeadlineMs: number;
  /** How long the request path retries phase 2 or compensations before leaving them to recovery. */
  inlineFinishMs: number;
  /** Extra time the owner keeps its lease past the deadline before recovery may claim it. */
  leaseGraceMs: number;
  backoff: Backoff;
}

export interface RunOptions {
  /** Scoped by the caller (e.g. user + key); repeats return the first outcome. */
  idempotencyKey?: string;
  requestHash?: string;
}

/** Flows are registered under their name; the log stores the name and the input. */
type AnyFlow = Flow<unknown, unknown>;

const TERMINAL: TxState[] = ['COMMITTED', 'ABORTED'];
const tracer = tracerFor('boxoffice.coordinator');

export class Engine {
  private readonly flows = new Map<string, AnyFlow>();
  private readonly turns = new Turns();
  /** Runs woken together by the end of a turn need one guard answer, not one each. */
  private readonly guardAnswers = new SharedCalls<DomainError | undefined>();

  constructor(
    private readonly txLog: TxLog,
    private readonly phase2: PhaseTwo,
    private readonly opts: EngineOptions,
    private readonly log: Logger,
    private readonly metrics: TxMetrics,
  ) {}

  register(...flows: AnyFlow[]): void {
    for (const f of flows) this.flows.set(f.name, f);
  }

  get mode(): TxMode {
    return this.opts.mode;
  }

  /** Runs a flow to its outcome: the output, or the DomainError of the refusal. */
  async run<I, O>(flow: Flow<I, O>, input: I, run: RunOptions = {}): Promise<O> {
    const attributes = { 'tx.flow': flow.name, 'tx.mode': this.opts.mode };
    return inSpan(tracer, `tx ${flow.name}`, { attributes }, () =>
      this.runTraced(flow, input, run),
    );
  }

  private async runTraced<I, O>(flow: Flow<I, O>, input: I, run: RunOptions): Promise<O> {
    // Under an idempotency key the key's first run is the answer, not what the guard sees now
    // (a repeated Reserve would find its own hold).
    const turn =
      flow.contention && run.idempotencyKey === undefined
        ? await this.takeTurn(flow.name, flow.contention, input)
        : undefined;
    try {
      return await this.runLogged(flow, input, run);
    } finally {
      turn?.end();
    }
  }

  /**
   * The turn of the run's contention key. The first comes takes it at once; one that has to
   * wait asks the guard when the turn ends (with everyone woken with it), and is refused there
   * or tries again.
   */
  private async takeTurn<I>(flow: string, c: Contention<I>, input: I): Promise<Turn> {
    const key = c.key(input);
    for (;;) {
      const turn = this.turns.take(key);
      if (turn) return turn;
      await this.turns.idle(key);
      const refused = await this.guardAnswers.share(key, () => this.guardRefusal(flow, c, input));
      if (refused) {
        trace.getActiveSpan()?.setAttribute('tx.outcome', refused.reason);
        this.metrics.guardRefusals.inc({ flow, reason: refused.reason });
        throw refused;
      }
    }
  }

  private async runLogged<I, O>(flow: Flow<I, O>, input: I, run: RunOptions): Promise<O> {
    const now = new Date();
    const gid = newId(now.getTime());
    trace.getActiveSpan()?.setAttribute('tx.gid', gid);
    const deadlineAt = new Date(now.getTime() + this.opts.ttlMs);
    const begin = () =>
      this.txLog.begin(
        {
          gid,
          flow: flow.name,
          mode: this.opts.mode,
          payload: input,
          owner: this.opts.owner,
          deadlineAt,
          leaseUntil: new Date(deadlineAt.getTime() + this.opts.leaseGraceMs),
          idempotencyKey: run.idempotencyKey,
          requestHash: run.requestHash,
          // Recovery, if it ever takes over, links its trace to this one.
          traceContext: currentTraceparent(),
        },
        now,
      );
    let begun = await begin();
    // A first attempt that was aborted as UNAVAILABLE changed nothing: the key runs again,
    // instead of answering 503 for good to a client that retries as HTTP suggests.
    if (!begun && (await this.txLog.releaseVoidKey(run.idempotencyKey!, run.requestHash)))
      begun = await begin();
    if (!begun) return this.replay<O>(run.idempotencyKey!, run.requestHash);
    const tx: TxRun = {
      gid,
      flow: flow.name,
      mode: this.opts.mode,
      deadlineAt,
      branches: new Map(),
      fresh: true,
    };
    const outcome =
      this.opts.mode === 'xa'
        ? await this.runXa(flow, input, tx)
        : await this.runSaga(flow, input, tx, 'RUNNING');
    this.finished(tx, outcome);
    return unwrap<O>(outcome);
  }

  /** The refusal of the contention guard, if it refused. */
  private async guardRefusal<I>(
    flow: string,
    c: Contention<I>,
    input: I,
  ): Promise<DomainError | undefined> {
    const r = await inSpan(tracer, `guard ${flow}`, {}, () =>
      classify(() => c.guard({ input, call: { deadlineMs: this.opts.branchDeadlineMs } })),
    );
    return r.kind === 'refused' ? r.error : undefined;
  }

  private finished(tx: TxRun, outcome: Outcome): void {
    const result = outcome.ok ? 'committed' : outcome.reason;
    trace.getActiveSpan()?.setAttribute('tx.outcome', result);
    this.metrics.transactions.inc({ flow: tx.flow, mode: tx.mode, outcome: result });
    this.log.info(
      { gid: tx.gid, flow: tx.flow, mode: tx.mode, outcome: result },
      'transaction finished',
    );
  }

  /** Drives an interrupted transaction to a terminal state (the recovery loop's job). */
  async recover(gid: string): Promise<void> {
    const rec = await this.txLog.get(gid);
    if (!rec || TERMINAL.includes(rec.state)) return;
    const flow = this.flows.get(rec.flow);
    if (!flow) throw new Error(`transaction ${gid}: unknown flow ${rec.flow}`);
    // A trace of its own, linked to the trace of the request that started the transaction.
    const started = trace.getSpanContext(contextFrom(rec.traceContext));
    await inSpan(
      tracer,
      `tx recover ${rec.flow}`,
      {
        root: true,
        attributes: {
          'tx.gid': gid,
          'tx.flow': rec.flow,
          'tx.mode': rec.mode,
          'tx.recovered_from': rec.state,
        },
        links: started ? [{ context: started }] : [],
      },
      (span) => {
        span.addEvent('recovery', { state: rec.state, attempts: rec.attempts });
        this.metrics.recoveryActions.inc({ state: rec.state, action: recoveryAction(rec, flow) });
        return this.recoverTraced(rec, flow);
      },
    );
  }

  private async recoverTraced(rec: TxRecord, flow: AnyFlow): Promise<void> {
    const gid = rec.gid;
    const tx: TxRun = {
      gid,
      flow: rec.flow,
      mode: rec.mode,
      deadlineAt: rec.deadlineAt,
      branches: new Map(),
      fresh: false,
    };
    this.log.info(
      { gid, flow: rec.flow, mode: rec.mode, state: rec.state },
      'recovering transaction',
    );
    switch (rec.state) {
      case 'COMMITTING':
        await this.finishXa(
          flow,
          rec.gid,
          'commit',
          tx,
          rec.outcome!,
          'COMMITTING',
          'COMMITTED',
          this.opts.inlineFinishMs,
        );
        return;
      case 'ABORTING':
        await this.finishXa(
          flow,
          rec.gid,
          'rollback',
          tx,
          rec.outcome!,
          'ABORTING',
          'ABORTED',
          this.opts.inlineFinishMs,
        );
        return;
      case 'COMPENSATING':
        await this.compensate(rec.payload, tx, flow.steps, rec.outcome!, this.opts.inlineFinishMs);
        return;
      case 'RUNNING':
        if (rec.mode === 'xa') {
          // Branch sessions died with their owner: the only safe outcome is to abort.
          await this.abortXa(
            flow,
            tx,
            interrupted('the coordinator was interrupted before the decision'),
            this.opts.inlineFinishMs,
          );
        } else if (Date.now() < rec.deadlineAt.getTime() || recoversForward(flow)) {
          await this.runSaga(flow, rec.payload, tx, 'RUNNING');
        } else {
          const outcome = interrupted('the transaction ran out of time');
          if (
            await this.txLog.transition(gid, 'RUNNING', 'COMPENSATING', new Date(), { outcome })
          ) {
            await this.compensate(rec.payload, tx, flow.steps, outcome, this.opts.inlineFinishMs);
          }
        }
        return;
    }
  }

  /** The outcome an in-doubt XA participant must apply; decides abort when none exists yet. */
  async decide(gid: string): Promise<'COMMIT' | 'ROLLBACK' | 'PENDING'> {
    for (;;) {
      const rec = await this.txLog.get(gid);
      if (!rec) return 'ROLLBACK'; // never logged: presumed abort
      if (rec.state === 'COMMITTING' || rec.state === 'COMMITTED') return 'COMMIT';
      if (rec.state !== 'RUNNING') return 'ROLLBACK';
      if (Date.now() < rec.deadlineAt.getTime()) return 'PENDING';
      const now = new Date();
      const outcome = interrupted('the transaction ran out of time');
      if (
        await this.txLog.transition(gid, 'RUNNING', 'ABORTING', now, {
          outcome,
          nextAttemptAt: now,
        })
      )
        return 'ROLLBACK';
    }
  }

  // ---- saga ----------------------------------------------------------------------------

  private async runSaga(flow: AnyFlow, input: unknown, tx: TxRun, from: TxState): Promise<Outcome> {
    const results: StepResults = {};
    for (const [i, step] of flow.steps.entries()) {
      const call = () => this.stepCall(step, input, results, tx, 'saga', false);
      const r = step.mustSucceed
        ? await this.callUntil(
            tx,
            step,
            'action',
            call,
            Date.now() + this.opts.inlineFinishMs,
            true,
          )
        : await this.callUntil(tx, step, 'action', call, tx.deadlineAt.getTime());
      if (r.kind === 'done') {
        results[step.id] = r.value;
        failpoint(`coordinator.saga.after-${step.id}`);
        continue;
      }
      // Past the pivot the outcome is decided: recovery finishes the remaining steps. And in a
      // recovery run an earlier run may have got further than an unknown answer shows (up to
      // a pivot whose effects are out): only a refusal proves a step never ran, so ask again.
      if (step.mustSucceed || (r.kind === 'unknown' && !tx.fresh)) {
        const error = `step ${step.id} is not finished yet: ${describe(r)}`;
        await this.txLog.postpone(
          tx.gid,
          new Date(Date.now() + this.opts.backoff.capMs),
          error,
          new Date(),
        );
        return interrupted('the request was accepted and will complete shortly');
      }
      // Refused, or unknown until the deadline: undo everything that may have run.
      const outcome =
        r.kind === 'refused'
          ? refusal(r.error)
          : interrupted(`step ${step.id} did not answer in time`);
      const undo = flow.steps
        .slice(0, refusedAlone(tx, step, r) ? i : i + 1)
        .filter((s) => s.compensate !== undefined);
      // With nothing to undo (a first step refused), aborted in one write.
      const to = undo.length === 0 ? 'ABORTED' : 'COMPENSATING';
      if (
        !(await this.txLog.transition(tx.gid, from, to, new Date(), {
          outcome,
          branches: [...tx.branches.values()],
        }))
      ) {
        return this.awaitOutcome(tx.gid);
      }
      if (to === 'COMPENSATING')
        await this.compensate(input, tx, undo, outcome, this.opts.inlineFinishMs);
      return outcome;
    }
    const outcome: Outcome = { ok: true, value: flow.output(input, results) };
    if (
      !(await this.txLog.transition(tx.gid, from, 'COMMITTED', new Date(), {
        outcome,
        branches: [...tx.branches.values()],
      }))
    ) {
      return this.awaitOutcome(tx.gid);
    }
    return outcome;
  }

  /** Compensates steps in reverse; each is retried until it succeeds (recovery continues it). */
  private async compensate(
    input: unknown,
    tx: TxRun,
    steps: Step<unknown>[],
    outcome: Outcome,
    budgetMs: number,
  ): Promise<void> {
    const until = Date.now() + budgetMs;
    for (const step of [...steps].reverse()) {
      if (!step.compensate) continue;
      const compensate = step.compensate.bind(step);
      const r = await this.callUntil(
        tx,
        step,
        'compensate',
        () =>
          compensate({
            input,
            results: {},
            call: this.callOptions(tx.gid, step.id, 'saga', 'compensate', false),
          }),
        until,
        true,
      );
      if (r.kind !== 'done') {
        await this.txLog.postpone(
          tx.gid,
          new Date(Date.now() + this.opts.backoff.capMs),
          `compensation of ${step.id}: ${describe(r)}`,
          new Date(),
        );
        return;
      }
      this.metrics.compensations.inc({ flow: tx.flow, step: step.id });
    }
    await this.txLog.transition(tx.gid, 'COMPENSATING', 'ABORTED', new Date(), {
      outcome,
      branches: [...tx.branches.values()],
    });
  }

  // ---- XA ------------------------------------------------------------------------------

  private async runXa(flow: AnyFlow, input: unknown, tx: TxRun): Promise<Outcome> {
    const { waves, lastOf } = xaPlan(flow);
    const results: StepResults = {};
    for (const wave of waves) {
      const answers = await Promise.all(
        wave.map(async (step) => {
          const prepare = lastOf.get(step.participant) === step.id;
          const r = await this.branchSpan(tx, step, prepare ? 'prepare' : 'action', () =>
            classify(() => this.stepCall(step, input, results, tx, 'xa', prepare)),
          );
          this.track(tx, step, 'action', r, prepare ? 'PREPARED' : 'DONE', 1);
          return [step, r] as const;
        }),
      );
      const failed = answers.find(([, r]) => r.kind !== 'done');
      if (failed) {
        const [step, r] = failed;
        const outcome =
          r.kind === 'refused'
            ? refusal(r.error)
            : interrupted(`step ${step.id} could not be reached`);
        return this.abortXa(flow, tx, outcome, this.opts.inlineFinishMs);
      }
      for (const [step, r] of answers) results[step.id] = (r as { value: unknown }).value;
    }
    failpoint('coordinator.xa.before-decision');
    // Every branch voted yes: the decision is durable before any phase-2 call.
    const outcome: Outcome = { ok: true, value: flow.output(input, results) };
    if (
      !(await this.txLog.transition(tx.gid, 'RUNNING', 'COMMITTING', new Date(), {
        outcome,
        branches: [...tx.branches.values()],
      }))
    ) {
      // Someone decided first (presumed abort past the deadline): follow that decision.
      const rec = await this.txLog.get(tx.gid);
      if (rec?.state === 'COMMITTING' || rec?.state === 'COMMITTED')
        return this.awaitOutcome(tx.gid);
      await this.finishXa(
        flow,
        tx.gid,
        'rollback',
        tx,
        rec?.outcome ?? interrupted('aborted'),
        'ABORTING',
        'ABORTED',
        this.opts.inlineFinishMs,
      );
      return rec?.outcome ?? interrupted('aborted');
    }
    failpoint('coordinator.xa.after-decision');
    await this.finishXa(
      flow,
      tx.gid,
      'commit',
      tx,
      outcome,
      'COMMITTING',
      'COMMITTED',
      this.opts.inlineFinishMs,
    );
    return outcome;
  }

  private async abortXa(
    flow: AnyFlow,
    tx: TxRun,
    outcome: Outcome,
    budgetMs: number,
  ): Promise<Outcome> {
    const open = openBranches(flow, tx);
    // With no branch left open anywhere (the first wave refused), aborted in one write.
    const to = open.length === 0 ? 'ABORTED' : 'ABORTING';
    if (
      !(await this.txLog.transition(tx.gid, 'RUNNING', to, new Date(), {
        outcome,
        branches: [...tx.branches.values()],
      }))
    ) {
      const rec = await this.txLog.get(tx.gid);
      if (rec?.state === 'COMMITTING' || rec?.state === 'COMMITTED')
        return this.awaitOutcome(tx.gid);
    } else if (to === 'ABORTED') {
      return outcome;
    }
    await this.finishXa(
      flow,
      tx.gid,
      'rollback',
      tx,
      outcome,
      'ABORTING',
      'ABORTED',
      budgetMs,
      open.length ? open : participantsOf(flow),
    );
    return outcome;
  }

  /** Phase 2 on the participants (every one of the flow), in parallel, each retried until done. */
  private async finishXa(
    flow: AnyFlow,
    gid: string,
    verb: 'commit' | 'rollback',
    tx: TxRun,
    outcome: Outcome,
    from: TxState,
    to: TxState,
    budgetMs: number,
    participants: string[] = participantsOf(flow),
  ): Promise<void> {
    const until = Date.now() + budgetMs;
    const results = await Promise.all(
      participants.map((participant) => {
        const step = {
          id: participant,
          participant,
          action: async () => undefined,
        } as Step<unknown>;
        return this.callUntil(
          tx,
          step,
          verb,
          () => this.phase2[verb](participant, gid),
          until,
          true,
        );
      }),
    );
    const stuck = results.find((r) => r.kind !== 'done');
    if (stuck) {
      await this.txLog.postpone(
        gid,
        new Date(Date.now() + this.opts.backoff.capMs),
        `phase 2 ${verb}: ${describe(stuck)}`,
        new Date(),
      );
      return;
    }
    await this.txLog.transition(gid, from, to, new Date(), {
      outcome,
      branches: [...tx.branches.values()],
    });
  }

  // ---- calls ---------------------------------------------------------------------------

  private stepCall(
    step: Step<unknown>,
    input: unknown,
    results: StepResults,
    tx: TxRun,
    mode: TxMode,
    prepare: boolean,
  ) {
    const ctx: StepContext<unknown> = {
      input,
      results,
      // XA: one branch per participant database; saga: one barrier branch per step.
      call: this.callOptions(
        tx.gid,
        mode === 'xa' ? step.participant : step.id,
        mode,
        'action',
        prepare,
      ),
    };
    return step.action(ctx);
  }

  private callOptions(
    gid: string,
    branchId: string,
    mode: TxMode,
    op: 'action' | 'compensate',
    prepare: boolean,
  ) {
    return {
      metadata: writeTxContext({ gid, branchId, mode, op, prepare }),
      deadlineMs: this.opts.branchDeadlineMs,
    };
  }

  /**
   * Calls until done or refused, retrying unknown results with backoff until `until`.
   * With `mustSucceed` (phase 2, compensations) a refusal is retried too: they cannot say no.
   */
  private async callUntil<T>(
    tx: TxRun,
    step: Step<unknown>,
    action: string,
    call: () => Promise<T>,
    until: number,
    mustSucceed = false,
  ): Promise<CallResult<T>> {
    return this.branchSpan(tx, step, action, (span) =>
      this.retryLoop(tx, step, action, call, until, mustSucceed, span),
    );
  }

  private async retryLoop<T>(
    tx: TxRun,
    step: Step<unknown>,
    action: string,
    call: () => Promise<T>,
    until: number,
    mustSucceed: boolean,
    span: Span,
  ): Promise<CallResult<T>> {
    for (let attempt = 0; ; attempt++) {
      const r = await classify(call);
      const retry = r.kind === 'unknown' || (mustSucceed && r.kind === 'refused');
      this.track(tx, step, action, r, doneState(action), attempt + 1);
      if (!retry) return r;
      if (r.kind === 'refused')
        this.log.error(
          { gid: tx.gid, step: step.id, action, err: r.error },
          'a step that must succeed refused; retrying',
        );
      await this.txLog
        .noteBranch(tx.gid, tx.branches.get(branchKey(step, action))!, new Date())
        .catch(() => undefined);
      const delay = backoffDelay(attempt, this.opts.backoff);
      if (Date.now() + delay >= until) return r;
      span.addEvent('retry', { attempt: attempt + 1, delay_ms: delay, error: describe(r) });
      this.metrics.branchRetries.inc({ flow: tx.flow, participant: step.participant, action });
      this.log.warn(
        { gid: tx.gid, step: step.id, action, attempt: attempt + 1, error: describe(r) },
        'branch call will be retried',
      );
      await sleep(delay);
    }
  }

  /** A span per branch call (with its retries): tx.* attributes say which branch and phase. */
  private branchSpan<T>(
    tx: TxRun,
    step: Step<unknown>,
    phase: string,
    fn: (span: Span) => Promise<T>,
  ): Promise<T> {
    return inSpan(
      tracer,
      `${tx.flow} ${step.id} ${phase}`,
      {
        attributes: {
          'tx.gid': tx.gid,
          'tx.mode': tx.mode,
          'tx.flow': tx.flow,
          'tx.branch': step.id,
          'tx.phase': phase,
        },
      },
      fn,
    );
  }

  /** Keeps the in-memory view of a branch, written to the log with the next state change. */
  private track(
    tx: TxRun,
    step: Step<unknown>,
    action: string,
    r: CallResult<unknown>,
    okState: string,
    attempts: number,
  ): void {
    const key = branchKey(step, action);
    tx.branches.set(key, {
      branchId: key,
      participant: step.participant,
      action,
      state: r.kind === 'done' ? okState : r.kind === 'refused' ? 'REFUSED' : 'FAILED',
      attempts,
      lastError: r.kind === 'done' ? (tx.branches.get(key)?.lastError ?? null) : describe(r),
    });
  }

  // ---- outcomes ------------------------------------------------------------------------

  /** Waits until a transaction another caller runs is finished, then returns its outcome. */
  private async awaitOutcome(gid: string): Promise<Outcome> {
    const until = Date.now() + this.opts.ttlMs + this.opts.leaseGraceMs + this.opts.inlineFinishMs;
    for (;;) {
      const rec = await this.txLog.get(gid);
      // A decided outcome is final even while phase 2 or compensations still run.
      if (rec?.outcome && rec.state !== 'RUNNING') return rec.outcome;
      if (Date.now() > until) return interrupted('the transaction is still in progress');
      await sleep(50);
    }
  }

  private async replay<O>(key: string, requestHash: string | undefined): Promise<O> {
    const rec = await this.txLog.byIdempotencyKey(key);
    if (!rec)
      throw new DomainError('UNAVAILABLE', 'the idempotent request could not be found; retry');
    if (rec.requestHash !== (requestHash ?? null)) {
      throw new DomainError(
        'IDEMPOTENCY_KEY_REUSED',
        'this Idempotency-Key was used with a different request',
      );
    }
    return unwrap<O>(await this.awaitOutcome(rec.gid));
  }
}

interface TxRun {
  gid: string;
  flow: string;
  mode: TxMode;
  deadlineAt: Date;
  branches: Map<string, BranchRecord>;
  /**
   * This run began the transaction, so `branches` knows every call ever made. A recovery run
   * does not: calls of the interrupted run may still be in flight.
   */
  fresh: boolean;
}

/**
 * A step refused on the only call ever made to it rolled back its own local transaction: there
 * is nothing of it to compensate and no late duplicate that a null compensation must block.
 * After more than one call, or in a recovery run, an earlier call may still land: compensate it.
 */
function refusedAlone(tx: TxRun, step: Step<unknown>, r: CallResult<unknown>): boolean {
  return (
    tx.fresh && r.kind === 'refused' && tx.branches.get(branchKey(step, 'action'))?.attempts === 1
  );
}

/**
 * Participants that may hold an XA branch of this run. One never called has none; one whose
 * every call was refused rolled its branch back itself. A recovery run knows no calls: all.
 */
function openBranches(flow: AnyFlow, tx: TxRun): string[] {
  if (!tx.fresh) return participantsOf(flow);
  const records = [...tx.branches.values()];
  return participantsOf(flow).filter((p) =>
    records.some((b) => b.participant === p && b.state !== 'REFUSED'),
  );
}

function branchKey(step: Step<unknown>, action: string): string {
  return action === 'action' ? step.id : `${step.id}:${action}`;
}

function doneState(action: string): string {
  return (
    { action: 'DONE', compensate: 'COMPENSATED', commit: 'COMMITTED', rollback: 'ROLLED_BACK' }[
      action
    ] ?? 'DONE'
  );
}

/** What recovery will do with a transaction in this state (a bounded metric label). */
function recoveryAction(rec: TxRecord, flow: AnyFlow): string {
  switch (rec.state) {
    case 'COMMITTING':
      return 'commit';
    case 'ABORTING':
      return 'rollback';
    case 'COMPENSATING':
      return 'compensate';
    default:
      if (rec.mode === 'xa') return 'abort';
      return Date.now() < rec.deadlineAt.getTime() || recoversForward(flow)
        ? 'resume'
        : 'compensate';
  }
}

function refusal(err: DomainError): Outcome {
  return { ok: false, reason: err.reason, message: err.message, metadata: err.metadata };
}

function interrupted(message: string): Outcome {
  return { ok: false, reason: 'UNAVAILABLE', message, metadata: {} };
}

function describe(r: CallResult<unknown>): string {
  if (r.kind === 'done') return 'done';
  return r.kind === 'refused' ? `${r.error.reason}: ${r.error.message}` : r.error;
}

function unwrap<O>(outcome: Outcome): O {
  if (outcome.ok) return outcome.value as O;
  throw new DomainError(outcome.reason as DomainError['reason'], outcome.message, outcome.metadata);
}
