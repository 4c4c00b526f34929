// gRPC adapter of the coordinator: validate, mint ids, run one flow, encode.
import {
  bindService,
  requireUser,
  type CallContext,
  type ServiceBinding,
} from '../lib/grpc/server';
import { DomainError } from '../lib/errors';
import { actorOf } from '../lib/grpc/actor';
import { newId } from '../lib/ids';
import { fingerprint, idempotencyKeyOf } from '../lib/idempotency';
import {
  CoordinatorServiceService,
  Outcome,
  TxState,
  type OperatorAction,
  type Transaction,
} from '../gen/boxoffice/coordinator/v1/coordinator';
import type { Engine, RunOptions } from './engine/engine';
import type { TxLog } from './engine/log';
import { decideOutcome } from './engine/xa';
import type { ActionRecord, TxSummary } from './operator/data';
import type { OperatorDesk, TxView } from './operator/desk';
import { inDoubt, isOpen, parseTxQuery, shownState } from './operator/rules';
import type { Participants } from './flows/participants';
import { expireFlow } from './flows/expire';
import { payFlow } from './flows/pay';
import { refundFlow } from './flows/refund';
import { reserveFlow } from './flows/reserve';
import { assertActionRecord, assertId, assertReserveRequest, endedQuery } from './requests';

export interface CoordinatorDeps {
  engine: Engine;
  txLog: TxLog;
  participants: Participants;
  /** The operators' use cases (console, CLI). */
  desk: OperatorDesk;
}

export function coordinatorService({
  engine,
  txLog,
  participants,
  desk,
}: CoordinatorDeps): ServiceBinding {
  const reserve = reserveFlow(participants);
  const pay = payFlow(participants);
  const refund = refundFlow(participants);
  const expire = expireFlow(participants);
  engine.register(reserve, pay, refund, expire);

  return bindService('boxoffice.coordinator.v1.CoordinatorService', CoordinatorServiceService, {
    async reserve(req, ctx) {
      const userId = requireUser(ctx).userId;
      assertReserveRequest(req);
      const input = { reservationId: newId(), userId, ...req };
      return { reservation: await engine.run(reserve, input, keyed(ctx, userId, 'reserve', req)) };
    },
    async pay(req, ctx) {
      const userId = requireUser(ctx).userId;
      assertId('reservationId', req.reservationId);
      const input = { paymentId: newId(), reservationId: req.reservationId, userId };
      return engine.run(pay, input, keyed(ctx, userId, 'pay', req));
    },
    async refund(req, ctx) {
      const userId = requireUser(ctx).userId;
      assertId('paymentId', req.paymentId);
      const input = { paymentId: req.paymentId, userId };
      return engine.run(refund, input, keyed(ctx, userId, 'refund', req));
    },
    async expire(req) {
      assertId('reservationId', req.reservationId);
      try {
        return await engine.run(expire, { reservationId: req.reservationId });
      } catch (err) {
        // Refused: no longer an unpaid overdue hold (paid meanwhile, or expired already).
        if (err instanceof DomainError && err.reason !== 'UNAVAILABLE') return { expired: false };
        throw err;
      }
    },
    async getTransaction(req) {
      assertId('gid', req.gid);
      return { transaction: toTransaction(await desk.show(req.gid)) };
    },
    async listTransactions(req) {
      const now = new Date();
      const query = parseTxQuery({ ...req, state: stateName(req.state) }, now);
      const page = await desk.list(query);
      return {
        transactions: page.transactions.map((t) => toTransaction(t, now)),
        nextPageToken: page.nextPageToken,
        counts: [...page.counts].map(([state, count]) => ({
          state: TxState[state as keyof typeof TxState],
          count,
        })),
      };
    },
    async decideOutcome(req) {
      const decision = await decideOutcome(txLog, req.gid);
      return { outcome: Outcome[decision] };
    },
    async retryTransaction(req, ctx) {
      assertId('gid', req.gid);
      const tx = await desk.retry(req.gid, stateName(req.expectedState), actorOf(ctx));
      return { transaction: toTransaction(tx) };
    },
    async decideTransaction(req, ctx) {
      assertId('gid', req.gid);
      const { decision, transaction } = await desk.decide(
        req.gid,
        stateName(req.expectedState),
        actorOf(ctx),
      );
      return { decision: Outcome[decision], transaction: toTransaction(transaction) };
    },
    async listOperatorActions(req) {
      const actions = await desk.actions(req.target, req.limit);
      return { actions: actions.map(toAction) };
    },
    async recordOperatorAction(req) {
      assertActionRecord(req);
      await desk.record({ ...req, result: req.result as ActionRecord['result'] });
      return {};
    },
    async getEnded(req) {
      const gids = endedQuery(req.gids);
      const ended = await txLog.ended(gids);
      return {
        ended: ended.map((e) => ({
          gid: e.gid,
          state: TxState[e.state],
          endedAt: e.endedAt.toISOString(),
        })),
      };
    },
  });
}

/**
 * The run's Idempotency-Key (from the call's metadata, scoped to its user) and the fingerprint
 * of what it asks: the same key with another flow or body is refused.
 */
function keyed(ctx: CallContext, userId: string, flow: string, req: unknown): RunOptions {
  const key = idempotencyKeyOf(ctx.metadata);
  return key === undefined
    ? {}
    : { idempotencyKey: `${userId}:${key}`, requestHash: fingerprint({ flow, req }) };
}

/** The name of a TxState enum value ('' when unset or unknown, for the validators to refuse). */
function stateName(state: TxState): string {
  return state === TxState.TX_STATE_UNSPECIFIED ? '' : (TxState[state] ?? String(state));
}

const iso = (d: Date | null | undefined) => d?.toISOString() ?? '';

/** A listing's row, or (with its branches and history) one transaction's page. */
function toTransaction(t: TxSummary | TxView, now = new Date()): Transaction {
  const shown = shownState(t);
  const view = 'branches' in t ? t : undefined;
  return {
    gid: t.gid,
    flow: t.flow,
    mode: t.mode,
    state: TxState[shown],
    stuckIn: shown === 'STUCK' ? TxState[t.state] : TxState.TX_STATE_UNSPECIFIED,
    parkedAt: shown === 'STUCK' ? iso(t.parkedAt) : '',
    attempts: t.attempts,
    lastError: t.lastError ?? '',
    createdAt: iso(t.createdAt),
    updatedAt: iso(t.updatedAt),
    deadlineAt: iso(t.deadlineAt),
    inDoubt: inDoubt(t, now),
    userId: t.userId ?? '',
    reservationId: t.reservationId ?? '',
    paymentId: t.paymentId ?? '',
    nextAttemptAt: shown !== 'STUCK' && isOpen(t.state) ? iso(t.nextAttemptAt) : '',
    input: view ? JSON.stringify(view.input) : '',
    outcome: view?.outcome ? JSON.stringify(view.outcome) : '',
    traceId: traceIdOf(view?.traceContext ?? null),
    history: (view?.history ?? []).map((h) => ({
      at: h.at,
      event: h.event,
      state: TxState[h.state],
      detail: h.detail ?? '',
    })),
    branches: (view?.branches ?? []).map((b) => ({
      branchId: b.branchId,
      participant: b.participant,
      action: b.action,
      state: b.state,
      attempts: b.attempts,
      lastError: b.lastError ?? '',
      startedAt: iso(b.startedAt),
      endedAt: iso(b.endedAt),
    })),
    actions: (view?.actions ?? []).map(toAction),
  };
}

function toAction(a: ActionRecord): OperatorAction {
  return { ...a, at: a.at.toISOString(), expectedState: a.expectedState ?? '' };
}

/** The trace id of a W3C traceparent (version-traceid-spanid-flags), or ''. */
function traceIdOf(traceparent: string | null): string {
  return /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/.exec(traceparent ?? '')?.[1] ?? '';
}
