// gRPC adapter of the point service: decode, call one use case, encode.
import { bindService, requireUser, type ServiceBinding } from '../../lib/grpc/server';
import { idempotencyKeyOf } from '../../lib/idempotency';
import { EntryType, PointServiceService } from '../../gen/boxoffice/point/v1/point';
import type { Wallets } from './wallets';

export function pointService(wallets: Wallets): ServiceBinding {
  return bindService('boxoffice.point.v1.PointService', PointServiceService, {
    async charge(req, ctx) {
      const caller = requireUser(ctx).userId;
      const { userId, balance } = await wallets.charge(caller, req, idempotencyKeyOf(ctx.metadata));
      return { userId, balance };
    },
    async getBalance(req, ctx) {
      const caller = requireUser(ctx).userId;
      return { userId: req.userId, balance: await wallets.balance(caller, req.userId) };
    },
    async getHistory(req, ctx) {
      const caller = requireUser(ctx).userId;
      const entries = await wallets.history(caller, req.userId, req.limit);
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
      const { balance } = await wallets.use(ctx.tx, req);
      return { balance };
    },
    async restorePoints(_req, ctx) {
      await wallets.restore(ctx.tx);
      return {};
    },
    async refundPoints(req, ctx) {
      return { balance: await wallets.refund(ctx.tx, req) };
    },
  });
}
