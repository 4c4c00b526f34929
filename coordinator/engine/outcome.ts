// What a transaction answers its client: the flow's output, or the refusal that ended it. Both
// runners and the engine build, wait for and unwrap outcomes the same way.
import { DomainError } from '../../lib/errors';
import type { CallResult } from './calls';
import { sleep } from './calls';
import type { Outcome, TxLog } from './log';

export function refusal(err: DomainError): Outcome {
  return { ok: false, reason: err.reason, message: err.message, metadata: err.metadata };
}

/** Ended without a business answer: the client may retry (503). */
export function interrupted(message: string): Outcome {
  return { ok: false, reason: 'UNAVAILABLE', message, metadata: {} };
}

/** The client's answer: the value, or the outcome's refusal thrown as a DomainError. */
export function unwrap<O>(outcome: Outcome): O {
  if (outcome.ok) return outcome.value as O;
  throw new DomainError(outcome.reason as DomainError['reason'], outcome.message, outcome.metadata);
}

/** A branch call's result in one line, for the log and the branch view. */
export function describe(r: CallResult<unknown>): string {
  if (r.kind === 'done') return 'done';
  return r.kind === 'refused' ? `${r.error.reason}: ${r.error.message}` : r.error;
}

/**
 * Waits until a transaction someone else drives has an outcome (a decided outcome is final even
 * while phase 2 or compensations still run); undefined if it has none by `untilMs`.
 */
export async function awaitOutcome(
  txLog: TxLog,
  gid: string,
  untilMs: number,
): Promise<Outcome | undefined> {
  for (;;) {
    const rec = await txLog.get(gid);
    if (rec?.outcome && rec.state !== 'RUNNING') return rec.outcome;
    if (Date.now() > untilMs) return undefined;
    await sleep(50);
  }
}

/** The outcome of a transaction someone else decided, or UNAVAILABLE if it is still open. */
export async function othersOutcome(txLog: TxLog, gid: string, untilMs: number): Promise<Outcome> {
  return (
    (await awaitOutcome(txLog, gid, untilMs)) ?? interrupted('the transaction is still in progress')
  );
}
