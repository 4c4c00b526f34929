// Wallets and their ledger. Every balance change commits together with its ledger row and its
// outbox event, so the balance always equals the ledger sum and an event exists exactly when
// its change committed. Charge, use and refund share the same small steps below.
import { Metadata } from '@grpc/grpc-js';
import type { Database, Sql } from '../../../lib/db';
import type { BranchTx, Participant } from '../../../lib/participant/participant';
import {
  MAX_BALANCE,
  balanceLimitExceeded,
  insufficientPoints,
  pointEvent,
  type EntryType,
  type PointMovement,
} from '../domain/points';

export type { EntryType, PointMovement } from '../domain/points';

export interface LedgerEntry {
  type: EntryType;
  amount: number;
  balanceAfter: number;
  reference: string;
  at: Date;
}

export class Wallets {
  constructor(
    private readonly db: Database,
    private readonly participant: Participant,
  ) {}

  /**
   * Adds points, creating the wallet on first use: a plain local transaction. The limit binds
   * charges only (a refund must never be refused), so it is checked on the locked row.
   */
  async charge(userId: string, amount: number, reference: string, now: Date): Promise<number> {
    // No transaction context in the metadata: the participant runs a local transaction.
    const charged = await this.participant.action(new Metadata(), async (tx) => {
      const balance = await credit(tx, userId, amount, now);
      if (balance > MAX_BALANCE) throw balanceLimitExceeded();
      return record(tx, 'CHARGE', { userId, amount, reference, balance }, now);
    });
    return charged.balance;
  }

  /**
   * Pay's debit, as the transaction context in md says (XA branch, saga action, local). The
   * result is what the compensation (undoUse) refunds.
   */
  use(
    md: Metadata,
    userId: string,
    amount: number,
    reference: string,
    now: Date,
  ): Promise<PointMovement> {
    return this.participant.action(md, async (tx) => {
      const balance = await debit(tx, userId, amount, now);
      if (balance === undefined) throw insufficientPoints(userId, amount);
      return record(tx, 'USE', { userId, amount, reference, balance }, now);
    });
  }

  /** Refund's credit of a paid amount: a forward step. */
  refund(
    md: Metadata,
    userId: string,
    amount: number,
    reference: string,
    now: Date,
  ): Promise<PointMovement> {
    return this.participant.action(md, async (tx) =>
      record(
        tx,
        'REFUND',
        { userId, amount, reference, balance: await credit(tx, userId, amount, now) },
        now,
      ),
    );
  }

  /**
   * The saga compensation of use: refunds exactly what that use debited, once. undefined when
   * it did nothing (the use never ran, or this compensation ran before).
   */
  async undoUse(md: Metadata, now: Date): Promise<PointMovement | undefined> {
    let refunded: PointMovement | undefined;
    await this.participant.compensate<PointMovement>(md, async (tx, used) => {
      const balance = await credit(tx, used.userId, used.amount, now);
      refunded = await record(tx, 'REFUND', { ...used, balance }, now);
    });
    return refunded;
  }

  async balance(userId: string): Promise<number> {
    const rows = await this.db.query<{ balance: number }>(
      'SELECT balance FROM wallet WHERE user_id = ?',
      [userId],
    );
    return rows[0]?.balance ?? 0;
  }

  async history(userId: string, limit: number): Promise<LedgerEntry[]> {
    const rows = await this.db.query<{
      type: EntryType;
      amount: number;
      balance_after: number;
      reference: string;
      created_at: Date;
    }>(
      `SELECT type, amount, balance_after, reference, created_at FROM point_ledger
       WHERE user_id = ? ORDER BY id DESC LIMIT ?`,
      [userId, limit],
    );
    return rows.map((r) => ({
      type: r.type,
      amount: r.amount,
      balanceAfter: r.balance_after,
      reference: r.reference,
      at: r.created_at,
    }));
  }
}

/**
 * Adds points and returns the new balance, creating the wallet on first use. One upsert takes
 * the row lock at once (a read-then-update would deadlock concurrent credits).
 */
async function credit(tx: Sql, userId: string, amount: number, now: Date): Promise<number> {
  const res = await tx.execute(
    `INSERT INTO wallet (user_id, balance, updated_at) VALUES (?, LAST_INSERT_ID(?), ?)
     ON DUPLICATE KEY UPDATE balance = LAST_INSERT_ID(balance + VALUES(balance)), updated_at = VALUES(updated_at)`,
    [userId, amount, now],
  );
  return res.insertId;
}

/**
 * Takes points and returns the new balance; undefined (and nothing changed) when there is no
 * wallet or too little in it. The condition is the decision: one statement, no prior read.
 */
async function debit(
  tx: Sql,
  userId: string,
  amount: number,
  now: Date,
): Promise<number | undefined> {
  const res = await tx.execute(
    `UPDATE wallet SET balance = LAST_INSERT_ID(balance - ?), updated_at = ?
     WHERE user_id = ? AND balance >= ?`,
    [amount, now, userId, amount],
  );
  return res.affectedRows === 1 ? res.insertId : undefined;
}

/** The ledger row and the event of a balance change, in the change's transaction. */
async function record(
  tx: BranchTx,
  type: EntryType,
  m: PointMovement,
  now: Date,
): Promise<PointMovement> {
  await tx.writeAtEnd(
    'INSERT INTO point_ledger (user_id, type, amount, balance_after, reference, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    [m.userId, type, m.amount, m.balance, m.reference, now],
  );
  await tx.emit(pointEvent(type, m));
  return m;
}
