// The point service's use cases: charging a wallet, Pay's use of points and Refund's credit
// (each a branch through the participant), and the owner's reads. Every balance change commits
// together with its ledger row and its outbox event, so the balance always equals the ledger
// sum and an event exists exactly when its change committed.
import type { TxContext } from '../../lib/participant/context';
import type { Database } from '../../lib/db';
import { DomainError } from '../../lib/errors';
import { fingerprint } from '../../lib/idempotency';
import { newId } from '../../lib/ids';
import type { BranchTx, Participant } from '../../lib/participant/participant';
import * as keys from './data/chargeKeys';
import type { ChargeKey, KeptAnswer } from './data/chargeKeys';
import * as rows from './data/wallets';
import type { LedgerEntry } from './data/wallets';
import {
  MAX_BALANCE,
  assertChargeAmount,
  assertMovement,
  assertOwnWallet,
  balanceLimitExceeded,
  chargeTarget,
  historyLimit,
  insufficientPoints,
  pointEvent,
  type EntryType,
  type PointMovement,
} from './domain/points';

/** What a charge asks for: the wallet ('' for the caller's own) and how many points. */
export interface ChargeRequest {
  userId: string;
  amount: number;
}

/** What a use or a refund asks for: whose points, how many, and the payment they belong to. */
export interface MovementRequest {
  userId: string;
  amount: number;
  reference: string;
}

export class Wallets {
  constructor(
    private readonly db: Database,
    private readonly participant: Participant,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /**
   * Charge: adds points to the caller's own wallet, creating it on first use, as a plain local
   * transaction under a new charge reference. The limit binds charges only (a refund must
   * never be refused), so it is checked on the locked row.
   *
   * Under an Idempotency-Key the charge applies once: its answer is kept in its own
   * transaction, so a repeat (also one running at the same time, which then collides with it)
   * gets the first answer, a refusal included; the same key with another request is refused.
   */
  async charge(caller: string, req: ChargeRequest, key?: string): Promise<PointMovement> {
    const userId = chargeTarget(caller, req.userId);
    assertChargeAmount(req.amount);
    if (key === undefined) return this.credit(userId, req.amount);
    const requestHash = fingerprint({ userId, amount: req.amount });
    try {
      return await this.credit(userId, req.amount, (tx, movement, now) =>
        keys.keepWithCharge(
          tx,
          userId,
          key,
          { requestHash, answer: { ok: true, value: movement } },
          now,
        ),
      );
    } catch (err) {
      let first = await keys.findKey(this.db, userId, key);
      if (!first && isKeptRefusal(err)) {
        await keys.keepRefusal(
          this.db,
          userId,
          key,
          { requestHash, answer: refusalOf(err) },
          this.clock(),
        );
        first = await keys.findKey(this.db, userId, key);
      }
      if (!first) throw err;
      return firstAnswer(first, requestHash);
    }
  }

  /** Forgets charge keys past their retention (at least a day); answers how many. */
  forgetOldKeys(now: Date): Promise<number> {
    return keys.forgetKeys(this.db, new Date(now.getTime() - keys.CHARGE_KEY_RETENTION_MS), 1000);
  }

  private credit(
    userId: string,
    amount: number,
    keep?: (tx: BranchTx, movement: PointMovement, now: Date) => Promise<void>,
  ): Promise<PointMovement> {
    const reference = `charge_${newId()}`;
    // No transaction context in the metadata: the participant runs a local transaction.
    return this.participant.action(undefined, async (tx) => {
      const now = this.clock();
      const balance = await rows.credit(tx, userId, amount, now);
      if (balance > MAX_BALANCE) throw balanceLimitExceeded();
      const movement = await record(tx, 'CHARGE', { userId, amount, reference, balance }, now);
      await keep?.(tx, movement, now);
      return movement;
    });
  }

  /**
   * Pay's debit, as the call's transaction context says (XA branch, saga action, local). Its
   * result is what its compensation (restore) gives back.
   */
  use(branch: TxContext | undefined, req: MovementRequest): Promise<PointMovement> {
    const { userId, amount, reference } = req;
    assertMovement(userId, amount, reference);
    return this.participant.action(branch, async (tx) => {
      const now = this.clock();
      const balance = await rows.debit(tx, userId, amount, now);
      if (balance === undefined) throw insufficientPoints(userId, amount);
      return record(tx, 'USE', { userId, amount, reference, balance }, now);
    });
  }

  /** Refund's credit of a paid amount, a forward step; answers the balance after it. */
  async refund(branch: TxContext | undefined, req: MovementRequest): Promise<number> {
    const { userId, amount, reference } = req;
    assertMovement(userId, amount, reference);
    const refunded = await this.participant.action(branch, async (tx) => {
      const now = this.clock();
      const balance = await rows.credit(tx, userId, amount, now);
      return record(tx, 'REFUND', { userId, amount, reference, balance }, now);
    });
    return refunded.balance;
  }

  /**
   * The saga compensation of use: gives back exactly what that use took (its stored result),
   * once; nothing when the use never ran.
   */
  async restore(branch: TxContext | undefined): Promise<void> {
    await this.participant.compensate<PointMovement>(branch, async (tx, used) => {
      const now = this.clock();
      const balance = await rows.credit(tx, used.userId, used.amount, now);
      await record(tx, 'REFUND', { ...used, balance }, now);
    });
  }

  /** The owner's balance; 0 before the first charge. */
  async balance(caller: string, userId: string): Promise<number> {
    assertOwnWallet(caller, userId);
    return rows.balanceOf(this.db, userId);
  }

  /** The owner's latest ledger entries, newest first. */
  async history(caller: string, userId: string, limit: number | undefined): Promise<LedgerEntry[]> {
    assertOwnWallet(caller, userId);
    return rows.latestEntries(this.db, userId, historyLimit(limit));
  }
}

/** A refusal that answered a keyed charge for good (not one that asks to retry). */
function isKeptRefusal(err: unknown): err is DomainError {
  return err instanceof DomainError && err.reason !== 'UNAVAILABLE' && err.reason !== 'INTERNAL';
}

function refusalOf(err: DomainError): KeptAnswer {
  return { ok: false, reason: err.reason, message: err.message, metadata: err.metadata };
}

/** The first charge's answer under a key, or the refusal of a key reused for another request. */
function firstAnswer(first: ChargeKey, requestHash: string): PointMovement {
  if (first.requestHash !== requestHash)
    throw new DomainError(
      'IDEMPOTENCY_KEY_REUSED',
      'this Idempotency-Key was used with a different request',
    );
  if (first.answer.ok) return first.answer.value as PointMovement;
  const { reason, message, metadata } = first.answer;
  throw new DomainError(reason as DomainError['reason'], message, metadata);
}

/** The ledger row and the event of a balance change, in the change's transaction. */
async function record(
  tx: BranchTx,
  type: EntryType,
  m: PointMovement,
  now: Date,
): Promise<PointMovement> {
  await rows.appendEntry(tx, type, m, now);
  await tx.emit(pointEvent(type, m));
  return m;
}
