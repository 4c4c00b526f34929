// Wallets and their ledger. Every balance change and its ledger row commit together.
import type { Database, Sql } from '../../../lib/db';
import { balanceLimitExceeded } from '../domain/points';

export type EntryType = 'CHARGE' | 'USE' | 'REFUND';

export interface LedgerEntry {
  type: EntryType;
  amount: number;
  balanceAfter: number;
  reference: string;
  at: Date;
}

export class Wallets {
  constructor(private readonly db: Database) {}

  /**
   * Adds points, creating the wallet on first use. One upsert takes the row lock at once
   * (a read-then-update would deadlock concurrent charges), and the balance's CHECK
   * constraint is what refuses a charge past the limit.
   */
  charge(userId: string, amount: number, reference: string, now: Date): Promise<number> {
    return this.db.transaction(async (tx) => {
      let balance: number;
      try {
        const res = await tx.execute(
          `INSERT INTO wallet (user_id, balance, updated_at) VALUES (?, LAST_INSERT_ID(?), ?)
           ON DUPLICATE KEY UPDATE balance = LAST_INSERT_ID(balance + VALUES(balance)), updated_at = VALUES(updated_at)`,
          [userId, amount, now],
        );
        balance = res.insertId;
      } catch (err) {
        if (isCheckViolation(err)) throw balanceLimitExceeded();
        throw err;
      }
      await appendEntry(tx, userId, 'CHARGE', amount, balance, reference, now);
      return balance;
    });
  }

  async balance(userId: string): Promise<number> {
    const rows = await this.db.query<{ balance: number }>('SELECT balance FROM wallet WHERE user_id = ?', [userId]);
    return rows[0]?.balance ?? 0;
  }

  async history(userId: string, limit: number): Promise<LedgerEntry[]> {
    const rows = await this.db.query<{ type: EntryType; amount: number; balance_after: number; reference: string; created_at: Date }>(
      `SELECT type, amount, balance_after, reference, created_at FROM point_ledger
       WHERE user_id = ? ORDER BY id DESC LIMIT ?`,
      [userId, limit],
    );
    return rows.map((r) => ({ type: r.type, amount: r.amount, balanceAfter: r.balance_after, reference: r.reference, at: r.created_at }));
  }
}

/** MariaDB ER_CONSTRAINT_FAILED: a CHECK constraint refused the row. */
function isCheckViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { errno?: number }).errno === 4025;
}

async function appendEntry(
  tx: Sql,
  userId: string,
  type: EntryType,
  amount: number,
  balanceAfter: number,
  reference: string,
  now: Date,
): Promise<void> {
  await tx.execute(
    'INSERT INTO point_ledger (user_id, type, amount, balance_after, reference, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    [userId, type, amount, balanceAfter, reference, now],
  );
}
