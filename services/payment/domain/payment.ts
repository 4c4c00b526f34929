// The rules of a payment: what may be recorded, why a refund was refused, and the event a
// recorded payment publishes. Pure: every instant comes in as a parameter.
import { DomainError, invalidArgument } from '../../../lib/errors';
import type { NewEvent } from '../../../lib/participant/outbox';

export type PaymentStatusName = 'PAID' | 'REFUNDED' | 'VOIDED';

export interface PaymentInput {
  paymentId: string;
  reservationId: string;
  userId: string;
  amount: number;
}

/** Widths of the payment table's columns. */
const ID_CHARS = 26;
const USER_CHARS = 64;

/** A payment to record, checked before it reaches the table (a too-long id would fail there). */
export function assertPayable(p: PaymentInput): void {
  if (p.paymentId === '' || p.paymentId.length > ID_CHARS) {
    throw invalidArgument('paymentId', `paymentId must be 1 to ${ID_CHARS} characters`);
  }
  if (p.reservationId === '' || p.reservationId.length > ID_CHARS) {
    throw invalidArgument('reservationId', `reservationId must be 1 to ${ID_CHARS} characters`);
  }
  if (p.userId === '' || p.userId.length > USER_CHARS) {
    throw invalidArgument('userId', `userId must be 1 to ${USER_CHARS} characters`);
  }
  // A seat's price: a whole number of points, and a free seat needs no payment.
  if (!Number.isSafeInteger(p.amount) || p.amount < 1) {
    throw invalidArgument('amount', 'amount must be a positive integer');
  }
}

/**
 * Why PAID → REFUNDED did not happen for this caller. A missing payment, a voided one (it
 * never took effect) and another user's all read as NOT_FOUND: nothing about them is disclosed.
 */
export function refundRefusal(
  paymentId: string,
  found: { userId: string; status: PaymentStatusName } | undefined,
  caller: string,
): DomainError {
  if (found && found.userId === caller && found.status === 'REFUNDED') {
    return alreadyRefunded(paymentId);
  }
  return paymentNotFound(paymentId);
}

/** Also the answer when a concurrent refund holds the row's lock too long. */
export function alreadyRefunded(paymentId: string): DomainError {
  return new DomainError('PAYMENT_ALREADY_REFUNDED', `payment ${paymentId} is already refunded`);
}

export function paymentNotFound(paymentId: string): DomainError {
  return new DomainError('NOT_FOUND', `payment ${paymentId} does not exist`);
}

/** Published when a payment is recorded. */
export function paymentCompleted(p: PaymentInput, paidAt: Date): NewEvent {
  return {
    type: 'PaymentCompleted',
    version: 1,
    aggregateId: p.paymentId,
    payload: {
      paymentId: p.paymentId,
      reservationId: p.reservationId,
      userId: p.userId,
      amount: p.amount,
      paidAt: paidAt.toISOString(),
    },
  };
}
