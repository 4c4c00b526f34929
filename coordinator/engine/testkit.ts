// What the engine's unit tests run on: scripted participants (each step answers what its script
// says, call by call, and every call is recorded with the transaction context it carried), the
// in-memory log, and both runners and the engine wired as coordinator/main.ts wires them.
import { randomBytes } from 'node:crypto';
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import type { DomainError } from '../../lib/errors';
import { readTxContext } from '../../lib/participant/context';
import { statusError } from '../../lib/grpc/status';
import type { CallOptions } from '../../lib/grpc/client';
import { createLogger } from '../../lib/log';
import { createTxMetrics } from '../../lib/metrics';
import { Metrics } from '../../lib/metrics/registry';
import type { TxMode } from '../../lib/txMode';
import { BranchCalls } from './branches';
import { Engine } from './engine';
import { defineFlow, type Step } from './flow';
import { MemoryTxLog } from './memoryLog';
import type { RunnerDeps, TxRunner } from './runner';
import { SagaRunner } from './saga';
import { XaRunner, type PhaseTwo } from './xa';

/** What one call answers: done, a business refusal, or one of the unknown results. */
export type Answer = 'ok' | 'refused' | 'unavailable' | 'timeout' | 'unknown';
export const ANSWERS: readonly Answer[] = ['ok', 'refused', 'unavailable', 'timeout', 'unknown'];
export const REFUSAL_REASON = 'INSUFFICIENT_POINTS';
/** The transaction-context key of the tests' coordinator and scripted participants. */
const TEST_TX_KEY = randomBytes(32);

export type CallKind = 'action' | 'compensate' | 'commit' | 'rollback';

export interface RecordedCall {
  /** Step id (actions, compensations) or participant (phase 2). */
  target: string;
  kind: CallKind;
  gid: string;
  branchId?: string;
  prepare?: boolean;
}

/** What a fake step's action answers: which step it was, so outputs can be checked. */
export interface FakeResult {
  from: string;
}

export interface FakeStepOptions {
  needs?: Step<unknown, unknown>[];
  compensable?: boolean;
  mustSucceed?: boolean;
}

export class FakeParticipants {
  readonly calls: RecordedCall[] = [];
  private readonly scripts = new Map<string, Answer[]>();

  /** Scripts the answers of `target`'s calls of `kind`, in order; the last one repeats. */
  script(target: string, kind: CallKind, ...answers: Answer[]): void {
    this.scripts.set(`${target}:${kind}`, answers);
  }

  step(id: string, participant: string, opts: FakeStepOptions = {}): Step<unknown, FakeResult> {
    return {
      id,
      participant,
      needs: opts.needs,
      mustSucceed: opts.mustSucceed,
      action: ({ call }) => this.answer(id, 'action', call, { from: id }),
      compensate: opts.compensable
        ? ({ call }) => this.answer(id, 'compensate', call, undefined)
        : undefined,
    };
  }

  phaseTwo(): PhaseTwo {
    return {
      commit: (participant, _gid, call) => this.answer(participant, 'commit', call, undefined),
      rollback: (participant, _gid, call) => this.answer(participant, 'rollback', call, undefined),
    };
  }

  /** The calls made to `target` of `kind`. */
  made(target: string, kind: CallKind): RecordedCall[] {
    return this.calls.filter((c) => c.target === target && c.kind === kind);
  }

  /** The targets called with `kind`, in call order. */
  order(kind: CallKind): string[] {
    return this.calls.filter((c) => c.kind === kind).map((c) => c.target);
  }

  private async answer<T>(target: string, kind: CallKind, call: CallOptions, value: T): Promise<T> {
    // Every call carries a context signed with the transaction key, as a participant checks.
    const check = call.metadata && readTxContext(call.metadata, TEST_TX_KEY);
    if (!check?.ok) throw new Error(`${target} ${kind}: no valid transaction context`);
    const ctx = check.ctx;
    this.calls.push({
      target,
      kind,
      gid: ctx.gid,
      branchId: ctx.branchId,
      prepare: ctx.prepare,
    });
    const script = this.scripts.get(`${target}:${kind}`) ?? ['ok'];
    const attempt = this.made(target, kind).length - 1;
    const a = script[Math.min(attempt, script.length - 1)];
    await Promise.resolve();
    if (a === 'ok') return value;
    throw remoteError(a);
  }
}

/** The error a real client call would throw for this answer. */
export function remoteError(a: Exclude<Answer, 'ok'>): ServiceError {
  const code = {
    refused: Status.FAILED_PRECONDITION,
    unavailable: Status.UNAVAILABLE,
    timeout: Status.DEADLINE_EXCEEDED,
    unknown: Status.INTERNAL,
  }[a];
  const reason = a === 'refused' ? REFUSAL_REASON : 'INTERNAL';
  return Object.assign(new Error(a), statusError({ code, message: a, reason, metadata: {} }), {
    name: 'ServiceError',
  }) as ServiceError;
}

/** Time budgets small enough for unit tests, in the proportions of the defaults. */
export const TEST_TIMING = {
  ttlMs: 120,
  branchDeadlineMs: 50,
  inlineFinishMs: 60,
  retry: { baseMs: 1000, maxMs: 8000, parkAfterAttempts: 3 },
  backoff: { baseMs: 1, capMs: 4 },
};

export interface Harness {
  txLog: MemoryTxLog;
  participants: FakeParticipants;
  runners: Record<TxMode, TxRunner>;
  engine: Engine;
}

/** The engine of `mode` over the in-memory log and scripted participants. */
export function harness(mode: TxMode): Harness {
  const txLog = new MemoryTxLog();
  const participants = new FakeParticipants();
  const log = createLogger('silent');
  const metrics = createTxMetrics(new Metrics());
  const t = TEST_TIMING;
  const deps: RunnerDeps = {
    txLog,
    calls: new BranchCalls(
      txLog,
      { branchDeadlineMs: t.branchDeadlineMs, backoff: t.backoff, txKey: TEST_TX_KEY },
      log,
      metrics,
    ),
    inlineFinishMs: t.inlineFinishMs,
    retry: t.retry,
    awaitOutcomeMs: t.ttlMs * 3,
    log,
    metrics,
  };
  const runners: Record<TxMode, TxRunner> = {
    saga: new SagaRunner(deps, metrics),
    xa: new XaRunner(deps, participants.phaseTwo()),
  };
  const engine = new Engine({
    txLog,
    runner: runners[mode],
    runnerFor: (m) => runners[m],
    options: {
      owner: 'test',
      ttlMs: t.ttlMs,
      leaseGraceMs: 10,
      guardDeadlineMs: t.branchDeadlineMs,
      replayWaitMs: t.ttlMs * 3,
    },
    log,
    metrics,
  });
  return { txLog, participants, runners, engine };
}

/**
 * A flow shaped like Pay: a first step, three that need only it, and a pivot d that must
 * succeed, on the first step's participant (so in XA p1 holds one branch for a and d).
 */
export function payLike(h: Harness) {
  const p = h.participants;
  const a = p.step('a', 'p1', { compensable: true });
  const b = p.step('b', 'p2', { needs: [a], compensable: true });
  const c = p.step('c', 'p3', { needs: [a], compensable: true });
  const d = p.step('d', 'p1', { needs: [a], mustSucceed: true });
  return defineFlow({
    name: 'paylike',
    steps: [a, b, c, d],
    output: (_input, r) => [r.of(a).from, r.of(b).from, r.of(c).from, r.of(d).from],
  });
}

/** Runs payLike once: its output, or the refusal it answered. */
export async function runPayLike(h: Harness): Promise<{ value?: unknown; error?: DomainError }> {
  try {
    return { value: await h.engine.run(payLike(h), { id: 1 }) };
  } catch (err) {
    return { error: err as DomainError };
  }
}

/** The gid of the one transaction a test ran. */
export const onlyGid = (h: Harness): string => [...h.txLog.history.keys()][0];
