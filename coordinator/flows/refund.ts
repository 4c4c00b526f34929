// Refund: the payment turns REFUNDED (the pivot: refused when already refunded or not the
// payer's), then points return, the reservation is cancelled and its seat released.
// The reservation is cancelled before the seat is released because it names the seat.
import type { RefundPaymentResponse } from '../../gen/boxoffice/payment/v1/payment';
import type { RefundPointsResponse } from '../../gen/boxoffice/point/v1/point';
import type { CancelResponse } from '../../gen/boxoffice/reservation/v1/reservation';
import type { RefundResponse } from '../../gen/boxoffice/coordinator/v1/coordinator';
import { defineFlow, type StepResults } from '../engine/flow';
import type { Participants } from './participants';

export interface RefundInput {
  paymentId: string;
  userId: string;
}

const refunded = (results: StepResults) =>
  (results['refund-payment'] as RefundPaymentResponse).payment!;

export const refundFlow = (p: Participants) =>
  defineFlow<RefundInput, RefundResponse>({
    name: 'refund',
    steps: [
      {
        id: 'refund-payment',
        participant: 'payment',
        action: ({ input, call }) =>
          p.payment.refundPayment({ paymentId: input.paymentId, userId: input.userId }, call),
      },
      {
        id: 'refund-points',
        participant: 'point',
        needs: ['refund-payment'],
        mustSucceed: true,
        action: ({ input, results, call }) =>
          p.point.refundPoints(
            { userId: input.userId, amount: refunded(results).amount, reference: input.paymentId },
            call,
          ),
      },
      {
        id: 'cancel-reservation',
        participant: 'reservation',
        needs: ['refund-payment'],
        mustSucceed: true,
        action: ({ input, results, call }) =>
          p.reservation.cancel(
            { reservationId: refunded(results).reservationId, paymentId: input.paymentId },
            call,
          ),
      },
      {
        id: 'release-seat',
        participant: 'concert',
        needs: ['cancel-reservation'],
        mustSucceed: true,
        action: ({ results, call }) =>
          p.concert.releaseSeat(
            {
              seatId: (results['cancel-reservation'] as CancelResponse).seatId,
              reservationId: refunded(results).reservationId,
            },
            call,
          ),
      },
    ],
    output: (input, results) => ({
      paymentId: input.paymentId,
      status: 'REFUNDED',
      refundedAmount: refunded(results).amount,
      balance: (results['refund-points'] as RefundPointsResponse).balance,
    }),
  });
