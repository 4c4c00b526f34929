// gRPC adapter of the coordinator: validate, mint ids, run one flow, encode.
import { bindService, requireIdentity, type ServiceBinding } from '../lib/grpc/server';
import { DomainError } from '../lib/errors';
import { newId } from '../lib/ids';
import {
  CoordinatorServiceService,
  Outcome,
  TxState,
  type Transaction,
} from '../gen/boxoffice/coordinator/v1/coordinator';
import type { Engine } from './engine/engine';
import type { BranchRecord, TxLog, TxRecord } from './engine/log';
import { decideOutcome } from './engine/xa';
import type { Participants } from './flows/participants';
import { expireFlow } from './flows/expire';
import { payFlow } from './flows/pay';
import { refundFlow } from './flows/refund';
import { reserveFlow } from './flows/reserve';
import {
  assertId,
  assertReserveRequest,
  idempotencyKey,
  listLimit,
  notFound,
  requestHash,
} from './requests';

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
      const userId = requireIdentity(ctx).userId;
      assertReserveRequest(req);
      const reservation = await engine.run(reserve, { reservationId: newId(), userId, ...req });
      return { reservation };
    },
    async pay(req, ctx) {
      const userId = requireIdentity(ctx).userId;
      assertId('reservationId', req.reservationId);
      const [rawKey] = ctx.metadata.get('idempotency-key');
      const key = idempotencyKey(userId, typeof rawKey === 'string' ? rawKey : undefined);
      const paid = await engine.run(
        pay,
        { paymentId: newId(), reservationId: req.reservationId, userId },
        { idempotencyKey: key, requestHash: key ? requestHash(req) : undefined },
      );
      return paid;
    },
    async refund(req, ctx) {
      const userId = requireIdentity(ctx).userId;
      assertId('paymentId', req.paymentId);
      return engine.run(refund, { paymentId: req.paymentId, userId });
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
      const state = req.state ? (TxState[req.state] as TxRecord['state']) : undefined;
      const recs = await txLog.list(state, listLimit(req.limit));
      return { transactions: recs.map((r) => toTransaction(r, [])) };
    },
    async decideOutcome(req) {
      const decision = await decideOutcome(txLog, req.gid);
      return { outcome: Outcome[decision] };
    },
  });
}

function toTransaction(r: TxRecord, branches: BranchRecord[]): Transaction {
  return {
    gid: r.gid,
    flow: r.flow,
    mode: r.mode,
    state: TxState[r.state],
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
