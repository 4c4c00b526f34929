// The rules of points: what may be charged, and what a balance may hold.
import { DomainError } from '../../../lib/errors';

export const MIN_CHARGE = 1;
export const MAX_CHARGE = 1_000_000;
export const MAX_BALANCE = 100_000_000;
export const HISTORY_DEFAULT_LIMIT = 50;
export const HISTORY_MAX_LIMIT = 100;

const USER_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function assertChargeAmount(amount: number): void {
  if (!Number.isSafeInteger(amount) || amount < MIN_CHARGE || amount > MAX_CHARGE) {
    throw new DomainError(
      'INVALID_AMOUNT',
      `amount must be an integer from ${MIN_CHARGE} to ${MAX_CHARGE}`,
      {
        field: 'amount',
      },
    );
  }
}

/** The user a charge is for: the caller, and only the caller. */
export function chargeTarget(caller: string, requested: string): string {
  if (requested !== '' && requested !== caller) {
    throw new DomainError('USER_MISMATCH', 'points can only be charged to your own wallet');
  }
  return caller;
}

/** Only the owner may read a wallet. */
export function assertOwnWallet(caller: string, userId: string): void {
  assertUserId(userId);
  if (caller !== userId) throw new DomainError('USER_MISMATCH', 'you can only see your own points');
}

function assertUserId(userId: string): void {
  if (!USER_ID.test(userId)) {
    throw new DomainError(
      'INVALID_ARGUMENT',
      'userId must be 1-64 characters of A-Z, a-z, 0-9, _ and -',
      {
        field: 'userId',
      },
    );
  }
}

export function historyLimit(limit: number | undefined): number {
  if (limit === undefined) return HISTORY_DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > HISTORY_MAX_LIMIT) {
    throw new DomainError('INVALID_ARGUMENT', `limit must be from 1 to ${HISTORY_MAX_LIMIT}`, {
      field: 'limit',
    });
  }
  return limit;
}

export function balanceLimitExceeded(): DomainError {
  return new DomainError(
    'BALANCE_LIMIT_EXCEEDED',
    `a balance may not exceed ${MAX_BALANCE} points`,
  );
}

/** A ledger entry's kind; the balance always equals CHARGE + REFUND - USE. */
export type EntryType = 'CHARGE' | 'USE' | 'REFUND';

/** One change of a wallet: what its ledger row and its event both say. */
export interface PointMovement {
  userId: string;
  amount: number;
  /** The balance right after this change. */
  balance: number;
  /** What caused it: a charge id, or the payment a use or refund belongs to. */
  reference: string;
}

export const REFERENCE_MAX_CHARS = 64;

const EVENT_TYPES: Record<EntryType, string> = {
  CHARGE: 'PointCharged',
  USE: 'PointUsed',
  REFUND: 'PointRefunded',
};

/** The event a wallet change publishes (v1 payload: userId, amount, balance, reference). */
export function pointEvent(type: EntryType, m: PointMovement) {
  return {
    type: EVENT_TYPES[type],
    version: 1,
    aggregateId: m.userId,
    payload: { userId: m.userId, amount: m.amount, balance: m.balance, reference: m.reference },
  };
}

/** What a use or refund request must hold: a user id, a positive amount, a reference. */
export function assertMovement(userId: string, amount: number, reference: string): void {
  assertUserId(userId);
  if (!Number.isSafeInteger(amount) || amount < 1) {
    throw new DomainError('INVALID_AMOUNT', 'amount must be a positive integer', {
      field: 'amount',
    });
  }
  if (reference.length < 1 || reference.length > REFERENCE_MAX_CHARS) {
    throw new DomainError(
      'INVALID_ARGUMENT',
      `reference must be 1 to ${REFERENCE_MAX_CHARS} characters`,
      {
        field: 'reference',
      },
    );
  }
}

export function insufficientPoints(userId: string, amount: number): DomainError {
  return new DomainError('INSUFFICIENT_POINTS', `${userId} has fewer than ${amount} points`);
}
