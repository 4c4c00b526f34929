// The rules of a reservation: how long a hold lasts, when it is overdue, why a transition was
// refused, and what its owner is shown. Pure: every instant comes in as a parameter.
import { DomainError, invalidArgument } from '../../../lib/errors';

export type ReservationStatusName = 'HELD' | 'PAYING' | 'CONFIRMED' | 'EXPIRED' | 'CANCELLED';
/** What a client may see: PAYING is an internal semantic lock, shown as HELD. */
export type VisibleStatusName = Exclude<ReservationStatusName, 'PAYING'>;

/** The facts a refusal is explained from: read after the conditional update said no. */
export interface ReservationFacts {
  userId: string;
  status: ReservationStatusName;
  expiresAt: Date;
}

export interface HoldInput {
  reservationId: string;
  userId: string;
  concertId: string;
  scheduleId: string;
  date: string;
  seatNumber: number;
  seatId: string;
  price: number;
}

// Column widths of the reservation table: a longer value must be refused here, not fail there.
const ID_MAX = 26;
const REF_MAX = 64;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

export function holdExpiresAt(now: Date, holdSeconds: number): Date {
  return new Date(now.getTime() + holdSeconds * 1000);
}

/**
 * A hold is overdue from its expiry instant on. The SQL says the same thing: payable while
 * `expires_at > now`, expirable once `expires_at <= now`, so no instant allows both.
 */
export function isOverdue(expiresAt: Date, now: Date): boolean {
  return expiresAt.getTime() <= now.getTime();
}

/** A hold request from the coordinator, checked before it reaches the table. */
export function assertHold(hold: HoldInput): void {
  const text: [keyof HoldInput, string, number][] = [
    ['reservationId', hold.reservationId, ID_MAX],
    ['userId', hold.userId, REF_MAX],
    ['concertId', hold.concertId, REF_MAX],
    ['scheduleId', hold.scheduleId, REF_MAX],
    ['seatId', hold.seatId, REF_MAX],
  ];
  for (const [field, value, max] of text) {
    if (value.length === 0 || value.length > max) {
      throw invalidArgument(field, `${field} must be 1 to ${max} characters`);
    }
  }
  if (!isDay(hold.date)) throw invalidArgument('date', 'date must be a calendar day, YYYY-MM-DD');
  if (!Number.isSafeInteger(hold.seatNumber) || hold.seatNumber < 1) {
    throw invalidArgument('seatNumber', 'seatNumber must be a positive integer');
  }
  // Concert prices start at 1 point; a zero price would be a free seat nobody pays for.
  if (!Number.isSafeInteger(hold.price) || hold.price < 1) {
    throw invalidArgument('price', 'price must be a positive integer');
  }
}

/** The payment a reservation is locked for: it lands in a CHAR(26) column. */
export function assertPaymentId(paymentId: string): void {
  if (paymentId.length === 0 || paymentId.length > ID_MAX) {
    throw invalidArgument('paymentId', `paymentId must be 1 to ${ID_MAX} characters`);
  }
}

function isDay(value: string): boolean {
  if (!DATE.test(value)) return false;
  const day = new Date(`${value}T00:00:00Z`);
  // Round-tripping rejects days that do not exist (2026-02-30 would roll over to March).
  return !Number.isNaN(day.getTime()) && day.toISOString().slice(0, 10) === value;
}

/** Why HELD → PAYING did not happen for this payer at `now`. */
export function paymentRefusal(
  reservationId: string,
  found: ReservationFacts | undefined,
  payer: string,
  now: Date,
): DomainError | undefined {
  // Another user's reservation is indistinguishable from a missing one: ids are not disclosed.
  if (!found || found.userId !== payer) return notFound(reservationId);
  switch (found.status) {
    case 'PAYING':
    case 'CONFIRMED':
      return alreadyPaid(reservationId);
    case 'EXPIRED':
      return expired(reservationId);
    case 'CANCELLED':
      return new DomainError('RESERVATION_CANCELLED', `reservation ${reservationId} was cancelled`);
    case 'HELD':
      // Payable now, yet the payment could not take it: another payment held it a moment ago
      // and gave it back. That proves no refusal of this one, which may simply try again.
      return isOverdue(found.expiresAt, now) ? expired(reservationId) : undefined;
  }
}

/** Why HELD-and-overdue → EXPIRED did not happen at `now`. */
export function expiryRefusal(
  reservationId: string,
  found: ReservationFacts | undefined,
  now: Date,
): DomainError {
  if (!found) return notFound(reservationId);
  if (found.status === 'PAYING' || found.status === 'CONFIRMED') return alreadyPaid(reservationId);
  const detail =
    found.status === 'HELD'
      ? `is held until ${found.expiresAt.toISOString()} (now ${now.toISOString()})`
      : `is ${found.status}, not an overdue hold`;
  return new DomainError(
    'INVALID_ARGUMENT',
    `reservation ${reservationId} is not overdue: it ${detail}`,
    {
      field: 'reservationId',
    },
  );
}

/** Only the owner may read a reservation; for anyone else it does not exist. */
export function assertOwner<T extends { userId: string }>(
  reservationId: string,
  found: T | undefined,
  caller: string,
): asserts found is T {
  if (!found || found.userId !== caller) throw notFound(reservationId);
}

/**
 * What the owner sees: PAYING as HELD, and the payment id only once the reservation was paid
 * (CONFIRMED, or CANCELLED by a refund; a hold cancelled before payment has none).
 */
export function ownerView(
  status: ReservationStatusName,
  paymentId: string | null,
): { status: VisibleStatusName; paymentId: string | undefined } {
  const visible = status === 'PAYING' ? 'HELD' : status;
  const paid = (status === 'CONFIRMED' || status === 'CANCELLED') && paymentId !== null;
  return { status: visible, paymentId: paid ? paymentId : undefined };
}

function notFound(reservationId: string): DomainError {
  return new DomainError('RESERVATION_NOT_FOUND', `reservation ${reservationId} does not exist`);
}

/** Also the answer when a concurrent payment holds the row's lock too long. */
export function alreadyPaid(reservationId: string): DomainError {
  return new DomainError(
    'RESERVATION_ALREADY_PAID',
    `reservation ${reservationId} is already paid or being paid`,
  );
}

function expired(reservationId: string): DomainError {
  return new DomainError(
    'RESERVATION_EXPIRED',
    `the hold of reservation ${reservationId} has expired`,
  );
}
