// Expire: an overdue hold turns EXPIRED (the pivot: refused when it is paying or paid), then
// its seat is released — a step that cannot be undone, so it is retried until it succeeds.
import type { ExpireResponse as ReservationExpired } from '../../gen/boxoffice/reservation/v1/reservation';
import type { ExpireResponse } from '../../gen/boxoffice/coordinator/v1/coordinator';
import { defineFlow } from '../engine/flow';
import type { Participants } from './participants';

export interface ExpireInput {
  reservationId: string;
}

export const expireFlow = (p: Participants) =>
  defineFlow<ExpireInput, ExpireResponse>({
    name: 'expire',
    steps: [
      {
        id: 'expire-hold',
        participant: 'reservation',
        action: ({ input, call }) =>
          p.reservation.expire({ reservationId: input.reservationId }, call),
      },
      {
        id: 'release-seat',
        participant: 'concert',
        needs: ['expire-hold'],
        mustSucceed: true,
        action: ({ input, results, call }) =>
          p.concert.releaseSeat(
            {
              seatId: (results['expire-hold'] as ReservationExpired).seatId,
              reservationId: input.reservationId,
            },
            call,
          ),
      },
    ],
    output: () => ({ expired: true }),
  });
