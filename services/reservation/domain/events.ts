// The events a reservation publishes (through the outbox), version 1. Their payloads are a
// contract with the consumers: add fields, never rename or drop one without a new version.
import type { NewEvent } from '../../../lib/participant/outbox';
import type { ReservationStatusName } from './reservation';

export interface ReservationFields {
  id: string;
  userId: string;
  concertId: string;
  scheduleId: string;
  date: string;
  seatNumber: number;
  price: number;
  status: ReservationStatusName;
  paymentId: string | null;
}

/** A paid reservation: what the data platform receives, and what the ranking counts. */
export function reservationCompleted(r: ReservationFields): NewEvent {
  return {
    type: 'ReservationCompleted',
    version: 1,
    aggregateId: r.id,
    payload: {
      reservationId: r.id,
      paymentId: r.paymentId,
      userId: r.userId,
      concertId: r.concertId,
      scheduleId: r.scheduleId,
      date: r.date,
      seatNumber: r.seatNumber,
      amount: r.price,
    },
  };
}

export function reservationExpired(r: ReservationFields): NewEvent {
  return {
    type: 'ReservationExpired',
    version: 1,
    aggregateId: r.id,
    payload: {
      reservationId: r.id,
      userId: r.userId,
      scheduleId: r.scheduleId,
      seatNumber: r.seatNumber,
    },
  };
}
