// Validation of client requests to the coordinator: the rules the coordinator owns before it
// starts a global transaction (participants re-check theirs).
import { DomainError, invalidArgument } from '../lib/errors';

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export function assertId(field: string, value: string): void {
  if (value.trim() === '' || value.length > 64)
    throw invalidArgument(field, `${field} is required (at most 64 characters)`);
}

export function assertReserveRequest(req: {
  concertId: string;
  date: string;
  seatNumber: number;
}): void {
  assertId('concertId', req.concertId);
  if (!DATE.test(req.date) || Number.isNaN(Date.parse(`${req.date}T00:00:00Z`))) {
    throw invalidArgument('date', 'date must be YYYY-MM-DD');
  }
  if (!Number.isInteger(req.seatNumber) || req.seatNumber < 1) {
    throw invalidArgument('seatNumber', 'seatNumber must be a positive integer');
  }
}

export function listLimit(limit: number): number {
  if (limit === 0) return 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 500)
    throw invalidArgument('limit', 'limit must be 1-500');
  return limit;
}

/** The gids of a GetEnded question: 1-500 of them, each an id. */
export function endedQuery(gids: string[]): string[] {
  if (gids.length > 500) throw invalidArgument('gids', 'at most 500 gids per question');
  for (const gid of gids) assertId('gids', gid);
  return gids;
}

export function notFound(gid: string): DomainError {
  return new DomainError('TRANSACTION_NOT_FOUND', `no transaction ${gid}`);
}

const RECORDED_ACTIONS = ['replay', 'drop'];

/** An action the ops service records: on parked events, done or refused, fields bounded. */
export function assertActionRecord(a: {
  actor: string;
  action: string;
  target: string;
  result: string;
  detail: string;
}): void {
  if (!RECORDED_ACTIONS.includes(a.action))
    throw invalidArgument('action', `action must be one of ${RECORDED_ACTIONS.join(', ')}`);
  if (a.result !== 'DONE' && a.result !== 'REFUSED')
    throw invalidArgument('result', 'result must be DONE or REFUSED');
  assertId('actor', a.actor);
  if (a.target.trim() === '' || a.target.length > 200)
    throw invalidArgument('target', 'target is required (at most 200 characters)');
  if (a.detail.length > 512) throw invalidArgument('detail', 'detail is at most 512 characters');
}
