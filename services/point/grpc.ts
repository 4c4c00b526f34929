// gRPC adapter of the point service: decode, call one use case, encode.
import { bindService, requireIdentity, type ServiceBinding } from '../../lib/grpc/server';
import { isCompensation } from '../../lib/participant/context';
import { newId } from '../../lib/ids';
import { EntryType, PointServiceService } from '../../gen/boxoffice/point/v1/point';
import {
  assertChargeAmount,
  assertMovement,
  assertOwnWallet,
  chargeTarget,
  historyLimit,
} from './domain/points';
import type { Wallets } from './data/wallets';

export function pointService(wallets: Wallets): ServiceBinding {
  return bindService('boxoffice.point.v1.PointService', PointServiceService, {
    async charge(req, ctx) {
      const caller = requireIdentity(ctx).userId;
      const userId = chargeTarget(caller, req.userId);
      assertChargeAmount(req.amount);
      const balance = await wallets.charge(userId, req.amount, `charge_${newId()}`, new Date());
      return { userId, balance };
    },
    async getBalance(req, ctx) {
      assertOwnWallet(requireIdentity(ctx).userId, req.userId);
      return { userId: req.userId, balance: await wallets.balance(req.userId) };
    },
    async getHistory(req, ctx) {
      assertOwnWallet(requireIdentity(ctx).userId, req.userId);
      const entries = await wallets.history(req.userId, historyLimit(req.limit));
      return {
        entries: entries.map((e) => ({
          type: EntryType[e.type],
          amount: e.amount,
          balanceAfter: e.balanceAfter,
          reference: e.reference,
          at: e.at.toISOString(),
        })),
      };
    },
    // Transaction branches: called by the coordinator, with the transaction in the metadata.
    async usePoints(req, ctx) {
      assertMovement(req.userId, req.amount, req.reference);
      const used = await wallets.use(
        ctx.metadata,
        req.userId,
        req.amount,
        req.reference,
        new Date(),
      );
      return { balance: used.balance };
    },
    async refundPoints(req, ctx) {
      if (isCompensation(ctx.metadata)) {
        // Undoes Pay's use: the amount is what that use debited, not the request's.
        const refunded = await wallets.undoUse(ctx.metadata, new Date());
        return { balance: refunded?.balance ?? (await wallets.balance(req.userId)) };
      }
      assertMovement(req.userId, req.amount, req.reference);
      const refunded = await wallets.refund(
        ctx.metadata,
        req.userId,
        req.amount,
        req.reference,
        new Date(),
      );
      return { balance: refunded.balance };
    },
  });
}
