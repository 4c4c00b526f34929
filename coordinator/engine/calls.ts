// The result protocol of a branch call: OK is done; a business refusal ends the forward
// path; anything else is unknown and is retried with capped exponential backoff and jitter.
import { status as Status } from '@grpc/grpc-js';
import { DomainError, genericReason, isReason } from '../../lib/errors';
import { errorDetail, isServiceError } from '../../lib/grpc/status';

const REFUSALS = new Set<Status>([
  Status.FAILED_PRECONDITION,
  Status.ALREADY_EXISTS,
  Status.ABORTED,
  Status.NOT_FOUND,
  Status.PERMISSION_DENIED,
  Status.INVALID_ARGUMENT,
  Status.OUT_OF_RANGE,
]);

export type CallResult<T> =
  | { kind: 'done'; value: T }
  | { kind: 'refused'; error: DomainError }
  | { kind: 'unknown'; error: string };

/** Classifies the outcome of one branch call. */
export async function classify<T>(call: () => Promise<T>): Promise<CallResult<T>> {
  try {
    return { kind: 'done', value: await call() };
  } catch (err) {
    if (err instanceof DomainError) return { kind: 'refused', error: err };
    if (isServiceError(err)) {
      const d = errorDetail(err);
      if (REFUSALS.has(d.code)) {
        const reason = isReason(d.reason) ? d.reason : genericReason(d.code);
        return { kind: 'refused', error: new DomainError(reason, d.message, d.metadata) };
      }
      return { kind: 'unknown', error: `${Status[d.code] ?? d.code}: ${d.message}` };
    }
    return { kind: 'unknown', error: err instanceof Error ? err.message : String(err) };
  }
}

export interface Backoff {
  baseMs: number;
  capMs: number;
}

/** Full jitter: a random wait up to min(cap, base * 2^attempt). */
export function backoffDelay(
  attempt: number,
  b: Backoff,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(b.capMs, b.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
