// The calls a run makes to its participants: each in a span with the tx.* attributes,
// classified by the result protocol (calls.ts), retried with backoff where the runner allows it,
// and kept in the run's branch view, which the log writes with the next state change.
import type { Span } from '@opentelemetry/api';
import type { CallOptions } from '../../lib/grpc/client';
import type { Logger } from '../../lib/log';
import type { TxMetrics } from '../../lib/metrics';
import { writeTxContext, type TxOp } from '../../lib/participant/context';
import { inSpan, tracer as tracerFor } from '../../lib/telemetry/telemetry';
import type { TxMode } from '../../lib/txMode';
import { backoffDelay, classify, sleep, type Backoff, type CallResult } from './calls';
import type { BranchRecord, TxLog } from './log';
import { describe } from './outcome';

/** Which branch a call belongs to: a step (saga, XA action) or a participant (XA phase 2). */
export interface BranchRef {
  id: string;
  participant: string;
}

/** What a call does to its branch; each has its own entry in the branch view. */
export type BranchAction = 'action' | 'compensate' | 'commit' | 'rollback';

const DONE_STATE: Record<BranchAction, string> = {
  action: 'DONE',
  compensate: 'COMPENSATED',
  commit: 'COMMITTED',
  rollback: 'ROLLED_BACK',
};

/** One run of a transaction in this process: the request's, or a recovery attempt's. */
export class TxRun {
  private readonly view = new Map<string, BranchRecord>();

  constructor(
    readonly gid: string,
    readonly flow: string,
    readonly mode: TxMode,
    readonly deadlineAt: Date,
    /**
     * This run began the transaction, so it knows every call ever made. A recovery run does not:
     * calls of the interrupted run may still be in flight.
     */
    readonly fresh: boolean,
    /** Recovery attempts so far, this one included (0 on the request path). */
    readonly attempts = 0,
    /**
     * The claim this run holds (0 on the request path): every change it makes to the log is
     * fenced by it, so once recovery has claimed the transaction since, this run changes nothing.
     */
    readonly claim = 0,
  ) {}

  /** The branches' latest view, as the log records it. */
  branches(): BranchRecord[] {
    return [...this.view.values()];
  }

  branch(ref: BranchRef, action: BranchAction): BranchRecord | undefined {
    return this.view.get(branchKey(ref, action));
  }

  /**
   * Records a call's result, answered now to a call that started at `startedAt`; `okState`
   * names a success (PREPARED for an XA branch's last call). The branch's span runs from its
   * first call's start to its last answer.
   */
  note(
    ref: BranchRef,
    action: BranchAction,
    r: CallResult<unknown>,
    call: { attempts: number; startedAt: Date; okState?: string },
  ): BranchRecord {
    const key = branchKey(ref, action);
    const before = this.view.get(key);
    const record: BranchRecord = {
      branchId: key,
      participant: ref.participant,
      action,
      state:
        r.kind === 'done'
          ? (call.okState ?? DONE_STATE[action])
          : r.kind === 'refused'
            ? 'REFUSED'
            : 'FAILED',
      attempts: call.attempts,
      lastError: r.kind === 'done' ? (before?.lastError ?? null) : describe(r),
      startedAt: before?.startedAt ?? call.startedAt,
      endedAt: new Date(),
    };
    this.view.set(key, record);
    return record;
  }
}

export interface BranchCallsOptions {
  /** Deadline of one branch call. */
  branchDeadlineMs: number;
  backoff: Backoff;
  /** Signs the transaction contexts (held by the coordinator and its participants only). */
  txKey: Buffer;
}

/** When to stop retrying, and whether refusals are retried too. */
export interface RetryOptions {
  /** Epoch milliseconds: no attempt starts whose backoff would end past this. */
  until: number;
  /** Phase 2 and compensations cannot say no: a refusal is retried like an unknown answer. */
  mustSucceed?: boolean;
}

/** What a branch call carries: the transaction context, and whether the branch prepares after it. */
export interface BranchCallOptions {
  branchId: string;
  op: TxOp;
  /** XA: the participant's last call in this transaction. */
  prepare?: boolean;
}

const tracer = tracerFor('boxoffice.coordinator');

export class BranchCalls {
  constructor(
    private readonly txLog: TxLog,
    private readonly opts: BranchCallsOptions,
    private readonly log: Logger,
    private readonly metrics: TxMetrics,
  ) {}

  /** The client call options of one branch call: its transaction context and deadline. */
  callOptions(tx: TxRun, c: BranchCallOptions): CallOptions {
    const deadlineMs = this.opts.branchDeadlineMs;
    return {
      metadata: writeTxContext(
        {
          gid: tx.gid,
          branchId: c.branchId,
          mode: tx.mode,
          op: c.op,
          prepare: c.prepare ?? false,
          // The participant refuses the call once its caller has given up on it.
          expiresAt: Date.now() + deadlineMs,
        },
        this.opts.txKey,
      ),
      deadlineMs,
    };
  }

  /** One call, never repeated (an XA action: a timed-out call may still run inside its branch). */
  once<T>(
    tx: TxRun,
    ref: BranchRef,
    phase: { name: string; okState: string },
    call: () => Promise<T>,
  ): Promise<CallResult<T>> {
    return this.span(tx, ref, phase.name, async () => {
      const startedAt = new Date();
      const r = await classify(call);
      tx.note(ref, 'action', r, { attempts: 1, startedAt, okState: phase.okState });
      return r;
    });
  }

  /** Calls until done or refused (or, with mustSucceed, until done), retrying with backoff. */
  until<T>(
    tx: TxRun,
    ref: BranchRef,
    action: BranchAction,
    call: () => Promise<T>,
    opts: RetryOptions,
  ): Promise<CallResult<T>> {
    return this.span(tx, ref, action, (span) => this.retry(tx, ref, action, call, opts, span));
  }

  private async retry<T>(
    tx: TxRun,
    ref: BranchRef,
    action: BranchAction,
    call: () => Promise<T>,
    opts: RetryOptions,
    span: Span,
  ): Promise<CallResult<T>> {
    for (let attempt = 0; ; attempt++) {
      const startedAt = new Date();
      const r = await classify(call);
      const branch = tx.note(ref, action, r, { attempts: attempt + 1, startedAt });
      const retry = r.kind === 'unknown' || (opts.mustSucceed && r.kind === 'refused');
      if (!retry) return r;
      if (r.kind === 'refused')
        this.log.error(
          { gid: tx.gid, step: ref.id, action, err: r.error },
          'a step that must succeed refused; retrying',
        );
      await this.txLog.noteBranch(tx.gid, branch, new Date()).catch(() => undefined);
      const delay = backoffDelay(attempt, this.opts.backoff);
      if (Date.now() + delay >= opts.until) return r;
      span.addEvent('retry', { attempt: attempt + 1, delay_ms: delay, error: describe(r) });
      this.metrics.branchRetries.inc({ flow: tx.flow, participant: ref.participant, action });
      this.log.warn(
        { gid: tx.gid, step: ref.id, action, attempt: attempt + 1, error: describe(r) },
        'branch call will be retried',
      );
      await sleep(delay);
    }
  }

  /** A span per branch call (with its retries): tx.* attributes say which branch and phase. */
  private span<T>(
    tx: TxRun,
    ref: BranchRef,
    phase: string,
    fn: (span: Span) => Promise<T>,
  ): Promise<T> {
    return inSpan(
      tracer,
      `${tx.flow} ${ref.id} ${phase}`,
      {
        attributes: {
          'tx.gid': tx.gid,
          'tx.mode': tx.mode,
          'tx.flow': tx.flow,
          'tx.branch': ref.id,
          'tx.phase': phase,
        },
      },
      fn,
    );
  }
}

function branchKey(ref: BranchRef, action: BranchAction): string {
  return action === 'action' ? ref.id : `${ref.id}:${action}`;
}
