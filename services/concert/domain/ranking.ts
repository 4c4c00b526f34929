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
