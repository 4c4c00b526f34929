// Reserve: hold the seat, then record the hold. Compensations release and cancel. Requests for
// one seat take turns, and those that waited are refused by a read when the seat is taken.
import type { HoldSeatResponse } from '../../gen/boxoffice/concert/v1/concert';
import type {
  CreateHoldResponse,
  Reservation,
} from '../../gen/boxoffice/reservation/v1/reservation';
import { defineFlow, type Step } from '../engine/flow';
import type { Participants } from './participants';

export interface ReserveInput {
  reservationId: string;
  userId: string;
  concertId: string;
  date: string;
  seatNumber: number;
}

export const reserveFlow = (p: Participants) => {
  const holdSeat: Step<ReserveInput, HoldSeatResponse> = {
    id: 'hold-seat',
    participant: 'concert',
    action: ({ input, call }) =>
      p.concert.holdSeat(
        {
          concertId: input.concertId,
          date: input.date,
          seatNumber: input.seatNumber,
          reservationId: input.reservationId,
        },
        call,
      ),
    compensate: ({ input, call }) =>
      p.concert.unholdSeat({ reservationId: input.reservationId }, call),
  };

  const createHold: Step<ReserveInput, CreateHoldResponse> = {
    id: 'create-hold',
    participant: 'reservation',
    needs: [holdSeat],
    action: ({ input, results, call }) => {
      const seat = results.of(holdSeat);
      return p.reservation.createHold(
        {
          reservationId: input.reservationId,
          userId: input.userId,
          concertId: input.concertId,
          scheduleId: seat.scheduleId,
          date: input.date,
          seatNumber: input.seatNumber,
          seatId: seat.seatId,
          price: seat.price,
        },
        call,
      );
    },
    compensate: ({ input, call }) =>
      p.reservation.cancelHold({ reservationId: input.reservationId }, call),
  };

  return defineFlow<ReserveInput, Reservation>({
    name: 'reserve',
    // Of a thousand requests for one seat all but one lose: those that waited for the seat's
    // turn learn it from one shared read, not a transaction each.
    contention: {
      key: (input) => `${input.concertId} ${input.date} ${input.seatNumber}`,
      guard: ({ input, call }) =>
        p.concert.checkHold(
          { concertId: input.concertId, date: input.date, seatNumber: input.seatNumber },
          call,
        ),
    },
    steps: [holdSeat, createHold],
    output: (_input, results) => results.of(createHold).reservation!,
  });
};
