// The outbound contract with the data platform (docs/api.md, "Data platform delivery"): which
// events are shipped, the exact body, and which answers count as delivered. Pure: no I/O.
import type { EventEnvelope } from '../../../lib/events/envelope';
import {
  RESERVATION_COMPLETED,
  parseReservationCompleted,
  type ReservationCompleted,
} from '../../../lib/events/reservationCompleted';

/** The contract: no answer within this long is a failed attempt. */
export const DELIVERY_TIMEOUT_MS = 5000;

/** The JSON body POSTed to DATAPLATFORM_URL, in the field order docs/api.md lists. */
export interface DeliveryBody extends ReservationCompleted {
  eventId: string;
  type: typeof RESERVATION_COMPLETED;
  occurredAt: string;
}

/**
 * The body for one event: the envelope's identity and time, then the payload's fields — and
 * only those, so a field added to the event later is not shipped until the contract says so.
 * Throws InvalidEventError (lib/events/reservationCompleted.ts) for a malformed event.
 */
export function deliveryBody(event: EventEnvelope): DeliveryBody {
  const r = parseReservationCompleted(event);
  return {
    eventId: event.eventId,
    type: RESERVATION_COMPLETED,
    occurredAt: event.occurredAt,
    reservationId: r.reservationId,
    paymentId: r.paymentId,
    userId: r.userId,
    concertId: r.concertId,
    scheduleId: r.scheduleId,
    date: r.date,
    seatNumber: r.seatNumber,
    amount: r.amount,
  };
}

/** The result of one POST, as the delivery log records it. */
export type Attempt =
  | { delivered: true; status: number }
  /** status is absent when no answer came (timeout, refused connection, ...). */
  | { delivered: false; status?: number; error: string };

/** Any 2xx is success; anything else (3xx included: redirects are not followed) is retried. */
export function classifyStatus(status: number): Attempt {
  return status >= 200 && status <= 299
    ? { delivered: true, status }
    : { delivered: false, status, error: `data platform answered ${status}` };
}

/** A POST that got no answer: timed out, or never reached the data platform. */
export function classifyError(err: unknown, timeoutMs: number): Attempt {
  if (err instanceof Error && err.name === 'TimeoutError')
    return { delivered: false, error: `no answer within ${timeoutMs} ms` };
  // A socket error names itself by its code (ECONNREFUSED, ECONNRESET, ...).
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  const detail = typeof code === 'string' ? code : err instanceof Error ? err.message : String(err);
  return { delivered: false, error: `cannot reach the data platform: ${detail}` };
}
