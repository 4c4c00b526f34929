// gRPC adapter of the coordinator: validate, mint ids, run one flow, encode.
import {
  bindService,
  requireUser,
  type CallContext,
  type ServiceBinding,
} from '../lib/grpc/server';
import { DomainError } from '../lib/errors';
import { newId } from '../lib/ids';
import { fingerprint, idempotencyKeyOf } from '../lib/idempotency';
import {
  CoordinatorServiceService,
  Outcome,
  TxState,
  type Transaction,
} from '../gen/boxoffice/coordinator/v1/coordinator';
import type { Engine, RunOptions } from './engine/engine';
import type { BranchRecord, ListFilter, TxLog, TxRecord } from './engine/log';
import { decideOutcome } from './engine/xa';
import type { Participants } from './flows/participants';
import { expireFlow } from './flows/expire';
import { payFlow } from './flows/pay';
import { refundFlow } from './flows/refund';
import { reserveFlow } from './flows/reserve';
import { assertId, assertReserveRequest, endedQuery, listLimit, notFound } from './requests';

export interface CoordinatorDeps {
  engine: Engine;
  txLog: TxLog;
  participants: Participants;
}

export function coordinatorService({
  engine,
  txLog,
  participants,
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
      const rec = await txLog.get(req.gid);
      if (!rec) throw notFound(req.gid);
      return { transaction: toTransaction(rec, await txLog.branches(req.gid)) };
    },
    async listTransactions(req) {
      const filter = req.state ? (TxState[req.state] as ListFilter) : undefined;
      const recs = await txLog.list(filter, listLimit(req.limit));
      return { transactions: recs.map((r) => toTransaction(r, [])) };
    },
    async decideOutcome(req) {
      const decision = await decideOutcome(txLog, req.gid);
      return { outcome: Outcome[decision] };
    },
    async retryTransaction(req) {
      assertId('gid', req.gid);
      const now = new Date();
      if (!(await txLog.retry(req.gid, now))) {
        const rec = await txLog.get(req.gid);
        if (!rec) throw notFound(req.gid);
        throw new DomainError('TRANSACTION_ENDED', `transaction ${req.gid} is ${rec.state}`, {
          state: rec.state,
        });
      }
      const rec = (await txLog.get(req.gid))!;
      return { transaction: toTransaction(rec, await txLog.branches(req.gid)) };
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

function toTransaction(r: TxRecord, branches: BranchRecord[]): Transaction {
  return {
    gid: r.gid,
    flow: r.flow,
    mode: r.mode,
    state: r.parkedAt ? TxState.STUCK : TxState[r.state],
    stuckIn: r.parkedAt ? TxState[r.state] : TxState.TX_STATE_UNSPECIFIED,
    parkedAt: r.parkedAt?.toISOString() ?? '',
    attempts: r.attempts,
    lastError: r.lastError ?? '',
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
    branches: branches.map((b) => ({
      branchId: b.branchId,
      participant: b.participant,
      action: b.action,
      state: b.state,
      attempts: b.attempts,
      lastError: b.lastError ?? '',
    })),
  };
}
