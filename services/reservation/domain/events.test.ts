import { expect } from 'chai';
import { reservationCompleted, reservationExpired, type ReservationFields } from './events';

describe('reservation events', () => {
  const r: ReservationFields = {
    id: 'r1',
    userId: 'u1',
    concertId: 'c1',
    scheduleId: 's1',
    date: '2026-12-24',
    seatNumber: 7,
    price: 10000,
    status: 'CONFIRMED',
    paymentId: 'p1',
  };

  it('describes a completed reservation with the amount paid, keyed by the reservation', () => {
    expect(reservationCompleted(r)).to.deep.equal({
      type: 'ReservationCompleted',
      version: 1,
      aggregateId: 'r1',
      payload: {
        reservationId: 'r1',
        paymentId: 'p1',
        userId: 'u1',
        concertId: 'c1',
        scheduleId: 's1',
        date: '2026-12-24',
        seatNumber: 7,
        amount: 10000,
      },
    });
  });

  it('describes an expired hold by its seat', () => {
    expect(reservationExpired({ ...r, status: 'EXPIRED', paymentId: null })).to.deep.equal({
      type: 'ReservationExpired',
      version: 1,
      aggregateId: 'r1',
      payload: { reservationId: 'r1', userId: 'u1', scheduleId: 's1', seatNumber: 7 },
    });
  });
});
