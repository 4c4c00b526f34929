// gRPC adapter of the payment service: decode, call one use case, encode.
import { bindService, type ServiceBinding } from '../../lib/grpc/server';
import {
  PaymentServiceService,
  PaymentStatus,
  type Payment,
} from '../../gen/boxoffice/payment/v1/payment';
import type { Cashier, PaymentView } from './cashier';

export function paymentService(cashier: Cashier): ServiceBinding {
  return bindService('boxoffice.payment.v1.PaymentService', PaymentServiceService, {
    async recordPayment(req, ctx) {
      const { payment } = await cashier.record(ctx.tx, {
        paymentId: req.paymentId,
        reservationId: req.reservationId,
        userId: req.userId,
        amount: req.amount,
      });
      return { payment: toProto(payment) };
    },
    async voidPayment(_req, ctx) {
      await cashier.voidPayment(ctx.tx);
      return {};
    },
    // The payer is who the coordinator names: it passes on the caller the gateway verified.
    async refundPayment(req, ctx) {
      const { payment } = await cashier.refund(ctx.tx, req.paymentId, req.userId);
      return { payment: toProto(payment) };
    },
    async getPayment(req) {
      return { payment: toProto(await cashier.get(req.paymentId)) };
    },
  });
}

function toProto(view: PaymentView): Payment {
  return { ...view, status: PaymentStatus[view.status] };
}
