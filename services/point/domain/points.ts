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
    throw new DomainError('INVALID_AMOUNT', `amount must be an integer from ${MIN_CHARGE} to ${MAX_CHARGE}`, {
      field: 'amount',
    });
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
  if (!USER_ID.test(userId)) {
    throw new DomainError('INVALID_ARGUMENT', 'userId must be 1-64 characters of A-Z, a-z, 0-9, _ and -', {
      field: 'userId',
    });
  }
  if (caller !== userId) throw new DomainError('USER_MISMATCH', 'you can only see your own points');
}

export function historyLimit(limit: number | undefined): number {
  if (limit === undefined) return HISTORY_DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > HISTORY_MAX_LIMIT) {
    throw new DomainError('INVALID_ARGUMENT', `limit must be from 1 to ${HISTORY_MAX_LIMIT}`, { field: 'limit' });
  }
  return limit;
}

export function balanceLimitExceeded(): DomainError {
  return new DomainError('BALANCE_LIMIT_EXCEEDED', `a balance may not exceed ${MAX_BALANCE} points`);
}
