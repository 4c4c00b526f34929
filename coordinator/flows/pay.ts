// Pay: lock the reservation (PAYING), debit points, record the payment, sell the seat, then
// confirm, which must succeed once reached. In XA mode the four after begin-payment run in
// parallel (confirm on the reservation's own branch). Confirm's ReservationCompleted event ends
// the payer's waiting-room token (the queue service consumes it).
import type { RecordPaymentResponse } from '../../gen/boxoffice/payment/v1/payment';
import type { UsePointsResponse } from '../../gen/boxoffice/point/v1/point';
import type {
  BeginPaymentResponse,
  ConfirmResponse,
} from '../../gen/boxoffice/reservation/v1/reservation';
import type { SellSeatResponse } from '../../gen/boxoffice/concert/v1/concert';
import type { PayResponse } from '../../gen/boxoffice/coordinator/v1/coordinator';
import { defineFlow, type Step, type StepResults } from '../engine/flow';
import type { Participants } from './participants';

export interface PayInput {
  paymentId: string;
  reservationId: string;
  userId: string;
}

export const payFlow = (p: Participants) => {
  const beginPayment: Step<PayInput, BeginPaymentResponse> = {
    id: 'begin-payment',
    participant: 'reservation',
    action: ({ input, call }) =>
      p.reservation.beginPayment(
        {
          reservationId: input.reservationId,
          userId: input.userId,
          paymentId: input.paymentId,
        },
        call,
      ),
    compensate: ({ input, call }) =>
      p.reservation.resumeHold(
        { reservationId: input.reservationId, paymentId: input.paymentId },
        call,
      ),
  };
  const price = (results: StepResults) => results.of(beginPayment).reservation!.price;

  const usePoints: Step<PayInput, UsePointsResponse> = {
    id: 'use-points',
    participant: 'point',
    needs: [beginPayment],
    action: ({ input, results, call }) =>
      p.point.usePoints(
        { userId: input.userId, amount: price(results), reference: input.paymentId },
        call,
      ),
    compensate: ({ input, call }) => p.point.restorePoints({ reference: input.paymentId }, call),
  };

  const recordPayment: Step<PayInput, RecordPaymentResponse> = {
    id: 'record-payment',
    participant: 'payment',
    needs: [beginPayment],
    action: ({ input, results, call }) =>
      p.payment.recordPayment(
        {
          paymentId: input.paymentId,
          reservationId: input.reservationId,
          userId: input.userId,
          amount: price(results),
        },
        call,
      ),
    compensate: ({ input, call }) => p.payment.voidPayment({ paymentId: input.paymentId }, call),
  };

  const sellSeat: Step<PayInput, SellSeatResponse> = {
    id: 'sell-seat',
    participant: 'concert',
    needs: [beginPayment],
    action: ({ input, results, call }) =>
      p.concert.sellSeat(
        { seatId: results.of(beginPayment).seatId, reservationId: input.reservationId },
        call,
      ),
    compensate: ({ input, call }) =>
      p.concert.unsellSeat({ reservationId: input.reservationId }, call),
  };

  // The pivot: once the four steps above are done the payment has happened, and confirm's
  // ReservationCompleted leaves the system (the data platform, the payer's token) as soon as it
  // commits. So confirm has no compensation and is retried until it runs, and an interrupted
  // Pay recovers forward, past its deadline too (docs/transactions.md).
  const confirm: Step<PayInput, ConfirmResponse> = {
    id: 'confirm',
    participant: 'reservation',
    needs: [beginPayment],
    mustSucceed: true,
    action: ({ input, call }) =>
      p.reservation.confirm(
        { reservationId: input.reservationId, paymentId: input.paymentId },
        call,
      ),
  };

  return defineFlow<PayInput, PayResponse>({
    name: 'pay',
    steps: [beginPayment, usePoints, recordPayment, sellSeat, confirm],
    output: (input, results) => {
      const payment = results.of(recordPayment).payment!;
      return {
        paymentId: input.paymentId,
        reservationId: input.reservationId,
        amount: payment.amount,
        status: 'PAID',
        paidAt: payment.paidAt,
        balance: results.of(usePoints).balance,
      };
    },
  });
};
