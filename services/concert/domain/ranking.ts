// How much of the sold-out ranking one call returns.
import { invalidArgument } from '../../../lib/errors';

export const RANKING_DEFAULT_LIMIT = 10;
export const RANKING_MAX_LIMIT = 100;

export function rankingLimit(limit: number | undefined): number {
  if (limit === undefined) return RANKING_DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > RANKING_MAX_LIMIT) {
    throw invalidArgument('limit', `limit must be an integer from 1 to ${RANKING_MAX_LIMIT}`);
  }
  return limit;
}

/** What decides whether, and how fast, a schedule sold out. */
export interface ScheduleSales {
  /** Whether a seat is not SOLD (AVAILABLE or HELD). */
  anyUnsold: boolean;
  bookingOpensAt: Date;
  /**
   * The latest change to any of its seats: once every seat is SOLD, the last sale. Only known
   * once no seat is unsold (finding it reads every seat of the schedule).
   */
  lastSeatChangeAt?: Date;
}

export interface SellOut {
  soldOutAt: Date;
  /** Whole seconds from the opening of booking to the last sale. */
  soldOutSeconds: number;
}

/**
 * A schedule sells out once no seat is left unsold, at its last sale. It depends only on the
 * seats, not on which sale's event is being handled, so whichever consumer sees the last sale
 * records the same entry. undefined while a seat is unsold.
 */
export function sellOut(sales: ScheduleSales): SellOut | undefined {
  if (sales.anyUnsold || !sales.lastSeatChangeAt) return undefined;
  const ms = sales.lastSeatChangeAt.getTime() - sales.bookingOpensAt.getTime();
  // Never negative (the column is unsigned): seats changed before opening are not sales.
  return { soldOutAt: sales.lastSeatChangeAt, soldOutSeconds: Math.max(0, Math.floor(ms / 1000)) };
}
