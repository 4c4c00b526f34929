// Refund: the payment turns REFUNDED (the pivot: refused when already refunded or not the
// payer's), then points return, the reservation is cancelled and its seat released.
// The reservation is cancelled before the seat is released because it names the seat.
import type { ReleaseSeatResponse } from '../../gen/boxoffice/concert/v1/concert';
import type { RefundPaymentResponse } from '../../gen/boxoffice/payment/v1/payment';
import type { RefundPointsResponse } from '../../gen/boxoffice/point/v1/point';
import type { CancelResponse } from '../../gen/boxoffice/reservation/v1/reservation';
import type { RefundResponse } from '../../gen/boxoffice/coordinator/v1/coordinator';
import { defineFlow, type Step, type StepResults } from '../engine/flow';
import type { Participants } from './participants';

export interface RefundInput {
  paymentId: string;
  userId: string;
}

export const refundFlow = (p: Participants) => {
  const refundPayment: Step<RefundInput, RefundPaymentResponse> = {
    id: 'refund-payment',
    participant: 'payment',
    action: ({ input, call }) =>
      p.payment.refundPayment({ paymentId: input.paymentId, userId: input.userId }, call),
  };
  const refunded = (results: StepResults) => results.of(refundPayment).payment!;

  const refundPoints: Step<RefundInput, RefundPointsResponse> = {
    id: 'refund-points',
    participant: 'point',
    needs: [refundPayment],
    mustSucceed: true,
    action: ({ input, results, call }) =>
      p.point.refundPoints(
        { userId: input.userId, amount: refunded(results).amount, reference: input.paymentId },
        call,
      ),
  };

  const cancelReservation: Step<RefundInput, CancelResponse> = {
    id: 'cancel-reservation',
    participant: 'reservation',
    needs: [refundPayment],
    mustSucceed: true,
    action: ({ input, results, call }) =>
      p.reservation.cancel(
        { reservationId: refunded(results).reservationId, paymentId: input.paymentId },
        call,
      ),
  };

  const releaseSeat: Step<RefundInput, ReleaseSeatResponse> = {
    id: 'release-seat',
    participant: 'concert',
    needs: [refundPayment, cancelReservation],
    mustSucceed: true,
    action: ({ results, call }) =>
      p.concert.releaseSeat(
        {
          seatId: results.of(cancelReservation).seatId,
          reservationId: refunded(results).reservationId,
        },
        call,
      ),
  };

  return defineFlow<RefundInput, RefundResponse>({
    name: 'refund',
    steps: [refundPayment, refundPoints, cancelReservation, releaseSeat],
    output: (input, results) => ({
      paymentId: input.paymentId,
      status: 'REFUNDED',
      refundedAmount: refunded(results).amount,
      balance: results.of(refundPoints).balance,
    }),
  });
};
