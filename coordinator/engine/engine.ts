// Runs flows as global transactions: logs each one, hands it to the runner of the configured
// mode (saga.ts or xa.ts), and answers repeats of an idempotent request with the first outcome.
// Recovery drives transactions left open through the same runners. Generic: it knows steps,
// participants and the log, never concerts.
import { trace } from '@opentelemetry/api';
import { DomainError } from '../../lib/errors';
import { newId } from '../../lib/ids';
import type { Logger } from '../../lib/log';
import type { TxMetrics } from '../../lib/metrics';
import { SharedCalls } from '../../lib/sharedCalls';
import {
  contextFrom,
  currentTraceparent,
  inSpan,
  tracer as tracerFor,
} from '../../lib/telemetry/telemetry';
import type { TxMode } from '../../lib/txMode';
import { TxRun } from './branches';
import { classify } from './calls';
import type { AnyFlow, Contention, Flow } from './flow';
import { TERMINAL_STATES, type Outcome, type TxLog } from './log';
import { awaitOutcome, unwrap } from './outcome';
import { recoveryAction } from './recover';
import type { TxRunner } from './runner';
import { Turns, type Turn } from './turns';

export interface EngineOptions {
  /** This coordinator instance (stable across restarts of the same instance). */
  owner: string;
  /** Time to live of a transaction: then XA aborts and a saga compensates. */
  ttlMs: number;
  /** Extra time the owner keeps its lease past the deadline before recovery may claim it. */
  leaseGraceMs: number;
  /** Deadline of a contention guard's call. */
  guardDeadlineMs: number;
  /**
   * How long a repeat waits for the outcome of the first run of its idempotency key before it
   * answers IDEMPOTENCY_KEY_IN_PROGRESS (within the caller's deadline).
   */
  replayWaitMs: number;
}

export interface EngineDeps {
  txLog: TxLog;
  /** Runs new transactions: the runner of TX_MODE. */
  runner: TxRunner;
  /** Finishes a transaction in recovery: the runner of the mode it began in. */
  runnerFor(mode: TxMode): TxRunner;
  options: EngineOptions;
  log: Logger;
  metrics: TxMetrics;
}

export interface RunOptions {
  /** Scoped by the caller (e.g. user + key); repeats return the first outcome. */
  idempotencyKey?: string;
  requestHash?: string;
}

const tracer = tracerFor('boxoffice.coordinator');

export class Engine {
  private readonly flows = new Map<string, AnyFlow>();
  private readonly turns = new Turns();
  /** Runs woken together by the end of a turn need one guard answer, not one each. */
  private readonly guardAnswers = new SharedCalls<DomainError | undefined>();

  constructor(private readonly deps: EngineDeps) {}

  register(...flows: AnyFlow[]): void {
    for (const f of flows) this.flows.set(f.name, f);
  }

  get mode(): TxMode {
    return this.deps.runner.mode;
  }

  /** Runs a flow to its outcome: the output, or the DomainError of the refusal. */
  async run<I, O>(flow: Flow<I, O>, input: I, run: RunOptions = {}): Promise<O> {
    const attributes = { 'tx.flow': flow.name, 'tx.mode': this.mode };
    return inSpan(tracer, `tx ${flow.name}`, { attributes }, async () => {
      // Under an idempotency key the key's first run is the answer, not what the guard sees
      // now (a repeated Reserve would find its own hold).
      const turn =
        flow.contention && run.idempotencyKey === undefined
          ? await this.takeTurn(flow.name, flow.contention, input)
          : undefined;
      try {
        return unwrap<O>(await this.runLogged(flow, input, run));
      } finally {
        turn?.end();
      }
    });
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
        this.deps.metrics.guardRefusals.inc({ flow, reason: refused.reason });
        throw refused;
      }
    }
  }

  /** The refusal of the contention guard, if it refused. */
  private async guardRefusal<I>(
    flow: string,
    c: Contention<I>,
    input: I,
  ): Promise<DomainError | undefined> {
    const r = await inSpan(tracer, `guard ${flow}`, {}, () =>
      classify(() => c.guard({ input, call: { deadlineMs: this.deps.options.guardDeadlineMs } })),
    );
    return r.kind === 'refused' ? r.error : undefined;
  }

  private async runLogged(flow: AnyFlow, input: unknown, run: RunOptions): Promise<Outcome> {
    const { txLog, runner, options } = this.deps;
    const now = new Date();
    const gid = newId(now.getTime());
    trace.getActiveSpan()?.setAttribute('tx.gid', gid);
    const deadlineAt = new Date(now.getTime() + options.ttlMs);
    const begin = () =>
      txLog.begin(
        {
          gid,
          flow: flow.name,
          mode: runner.mode,
          payload: input,
          owner: options.owner,
          deadlineAt,
          leaseUntil: new Date(deadlineAt.getTime() + options.leaseGraceMs),
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
    if (!begun && (await txLog.releaseVoidKey(run.idempotencyKey!, run.requestHash)))
      begun = await begin();
    if (!begun) return this.replay(run.idempotencyKey!, run.requestHash);
    const tx = new TxRun(gid, flow.name, runner.mode, deadlineAt, true);
    const outcome = await runner.run(tx, flow, input);
    this.finished(tx, outcome);
    return outcome;
  }

  private finished(tx: TxRun, outcome: Outcome): void {
    const result = outcome.ok ? 'committed' : outcome.reason;
    trace.getActiveSpan()?.setAttribute('tx.outcome', result);
    this.deps.metrics.transactions.inc({ flow: tx.flow, mode: tx.mode, outcome: result });
    this.deps.log.info(
      { gid: tx.gid, flow: tx.flow, mode: tx.mode, outcome: result },
      'transaction finished',
    );
  }

  /** The first outcome of an idempotency key, once it has one. */
  private async replay(key: string, requestHash: string | undefined): Promise<Outcome> {
    const rec = await this.deps.txLog.byIdempotencyKey(key);
    if (!rec)
      throw new DomainError('UNAVAILABLE', 'the idempotent request could not be found; retry');
    if (rec.requestHash !== (requestHash ?? null)) {
      throw new DomainError(
        'IDEMPOTENCY_KEY_REUSED',
        'this Idempotency-Key was used with a different request',
      );
    }
    const outcome = await awaitOutcome(
      this.deps.txLog,
      rec.gid,
      Date.now() + this.deps.options.replayWaitMs,
    );
    if (outcome) return outcome;
    throw new DomainError(
      'IDEMPOTENCY_KEY_IN_PROGRESS',
      'the first request with this Idempotency-Key is still in progress; repeat it later',
    );
  }

  /** Drives an interrupted transaction to a terminal state (the recovery loop's job). */
  async recover(gid: string): Promise<void> {
    const rec = await this.deps.txLog.get(gid);
    if (!rec || TERMINAL_STATES.includes(rec.state)) return;
    const flow = this.flows.get(rec.flow);
    if (!flow) throw new Error(`transaction ${gid}: unknown flow ${rec.flow}`);
    const action = recoveryAction(rec, flow, new Date());
    if (!action) return;
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
        span.addEvent('recovery', { state: rec.state, attempts: rec.attempts, action });
        this.deps.metrics.recoveryActions.inc({ state: rec.state, action });
        this.deps.log.info(
          { gid, flow: rec.flow, mode: rec.mode, state: rec.state, action },
          'recovering transaction',
        );
        const tx = new TxRun(
          gid,
          rec.flow,
          rec.mode,
          rec.deadlineAt,
          false,
          rec.attempts,
          rec.claim,
        );
        return this.deps.runnerFor(rec.mode).recover(tx, flow, rec, action);
      },
    );
  }
}
