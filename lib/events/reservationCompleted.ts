// ReservationCompleted, version 1, as its consumers read it (queue, concert, dataplatform). The
// payload contract is services/reservation/domain/events.ts; it is checked here, once, so every
// consumer refuses the same malformed messages (a throw ends in the consumer's parked queue).
import type { EventEnvelope } from './envelope';

export const RESERVATION_COMPLETED = 'ReservationCompleted';

export interface ReservationCompleted {
  reservationId: string;
  paymentId: string;
  userId: string;
  concertId: string;
  scheduleId: string;
  date: string;
  seatNumber: number;
  amount: number;
}

/** An event that can never be handled as it is: retrying will not help, an operator must look. */
export class InvalidEventError extends Error {
  override name = 'InvalidEventError';
}

// processed_event.event_id is CHAR(26); ids are the outbox's 26-character ULIDs.
const EVENT_ID = /^[0-9A-Za-z]{1,26}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const ID_FIELDS = ['reservationId', 'paymentId', 'userId', 'concertId', 'scheduleId'] as const;

/** Checks the envelope and payload of a ReservationCompleted event; throws InvalidEventError. */
export function parseReservationCompleted(event: EventEnvelope): ReservationCompleted {
  const bad = (why: string) => new InvalidEventError(`invalid ${RESERVATION_COMPLETED}: ${why}`);
  if (event.type !== RESERVATION_COMPLETED) throw bad(`unexpected type "${event.type}"`);
  // A new version may rename or drop fields (the payload contract): act on nothing we misread.
  if (event.version !== 1) throw bad(`unsupported version ${event.version}`);
  if (!EVENT_ID.test(event.eventId)) throw bad('eventId must be 1-26 letters or digits');
  if (Number.isNaN(Date.parse(event.occurredAt))) throw bad('occurredAt is not a timestamp');
  const p = event.payload;
  for (const f of ID_FIELDS) {
    const v = p[f];
    if (typeof v !== 'string' || v === '') throw bad(`${f} must be a non-empty string`);
  }
  if (typeof p.date !== 'string' || !DATE.test(p.date)) throw bad('date must be YYYY-MM-DD');
  if (!Number.isSafeInteger(p.seatNumber) || (p.seatNumber as number) < 1)
    throw bad('seatNumber must be a positive integer');
  if (!Number.isSafeInteger(p.amount) || (p.amount as number) < 0)
    throw bad('amount must be a non-negative integer');
  return {
    reservationId: p.reservationId as string,
    paymentId: p.paymentId as string,
    userId: p.userId as string,
    concertId: p.concertId as string,
    scheduleId: p.scheduleId as string,
    date: p.date,
    seatNumber: p.seatNumber as number,
    amount: p.amount as number,
  };
}
