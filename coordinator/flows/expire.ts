// Expire: an overdue hold turns EXPIRED (the pivot: refused when it is paying or paid), then
// its seat is released — a step that cannot be undone, so it is retried until it succeeds.
import type { ReleaseSeatResponse } from '../../gen/boxoffice/concert/v1/concert';
import type { ExpireResponse as HoldExpired } from '../../gen/boxoffice/reservation/v1/reservation';
import type { ExpireResponse } from '../../gen/boxoffice/coordinator/v1/coordinator';
import { defineFlow, type Step } from '../engine/flow';
import type { Participants } from './participants';

export interface ExpireInput {
  reservationId: string;
}

export const expireFlow = (p: Participants) => {
  const expireHold: Step<ExpireInput, HoldExpired> = {
    id: 'expire-hold',
    participant: 'reservation',
    action: ({ input, call }) => p.reservation.expire({ reservationId: input.reservationId }, call),
  };

  const releaseSeat: Step<ExpireInput, ReleaseSeatResponse> = {
    id: 'release-seat',
    participant: 'concert',
    needs: [expireHold],
    mustSucceed: true,
    action: ({ input, results, call }) =>
      p.concert.releaseSeat(
        { seatId: results.of(expireHold).seatId, reservationId: input.reservationId },
        call,
      ),
  };

  return defineFlow<ExpireInput, ExpireResponse>({
    name: 'expire',
    steps: [expireHold, releaseSeat],
    output: () => ({ expired: true }),
  });
};
