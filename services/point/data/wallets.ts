// Wallets and their ledger. Every balance change and its ledger row commit together.
import type { Database, Sql } from '../../../lib/db';
import { MAX_BALANCE, balanceLimitExceeded } from '../domain/points';

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

  /** Adds points, creating the wallet on first use. Concurrent charges serialise on the row. */
  charge(userId: string, amount: number, reference: string, now: Date): Promise<number> {
    return this.db.transaction(async (tx) => {
      await tx.execute('INSERT IGNORE INTO wallet (user_id, balance, updated_at) VALUES (?, 0, ?)', [userId, now]);
      const balance = await credit(tx, userId, amount, now);
      if (balance === undefined) throw balanceLimitExceeded();
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

/** balance += amount unless that passes the limit; the new balance, or undefined when refused. */
async function credit(tx: Sql, userId: string, amount: number, now: Date): Promise<number | undefined> {
  const res = await tx.execute(
    `UPDATE wallet SET balance = LAST_INSERT_ID(balance + ?), updated_at = ?
     WHERE user_id = ? AND balance + ? <= ?`,
    [amount, now, userId, amount, MAX_BALANCE],
  );
  return res.affectedRows === 1 ? res.insertId : undefined;
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
