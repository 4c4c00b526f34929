// Wallet and ledger rows. A balance changes by ONE statement that takes the row lock and
// decides at once (never read-then-write) and answers the new balance through LAST_INSERT_ID.
// Statements take the Sql of the branch they run in; rows come back as plain objects.
import type { Sql } from '../../../lib/db';
import type { EntryType, PointMovement } from '../domain/points';

export interface LedgerEntry {
  type: EntryType;
  amount: number;
  balanceAfter: number;
  reference: string;
  at: Date;
}

interface LedgerRow {
  type: EntryType;
  amount: number;
  balance_after: number;
  reference: string;
  created_at: Date;
}

/**
 * Adds points and returns the new balance, creating the wallet on first use. One upsert takes
 * the row lock at once (a read-then-update would deadlock concurrent credits).
 */
export async function credit(sql: Sql, userId: string, amount: number, now: Date): Promise<number> {
  const res = await sql.execute(
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
export async function debit(
  sql: Sql,
  userId: string,
  amount: number,
  now: Date,
): Promise<number | undefined> {
  const res = await sql.execute(
    `UPDATE wallet SET balance = LAST_INSERT_ID(balance - ?), updated_at = ?
     WHERE user_id = ? AND balance >= ?`,
    [amount, now, userId, amount],
  );
  return res.affectedRows === 1 ? res.insertId : undefined;
}

/** The ledger row of a balance change; nothing reads it back, so it travels with the COMMIT. */
export async function appendEntry(
  sql: Sql,
  type: EntryType,
  m: PointMovement,
  now: Date,
): Promise<void> {
  await sql.writeAtEnd(
    'INSERT INTO point_ledger (user_id, type, amount, balance_after, reference, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    [m.userId, type, m.amount, m.balance, m.reference, now],
  );
}

/** The user's balance; 0 when there is no wallet yet. */
export async function balanceOf(sql: Sql, userId: string): Promise<number> {
  const [row] = await sql.query<{ balance: number }>(
    'SELECT balance FROM wallet WHERE user_id = ?',
    [userId],
  );
  return row?.balance ?? 0;
}

/** The user's latest ledger entries, newest first, at most `limit`. */
export async function latestEntries(
  sql: Sql,
  userId: string,
  limit: number,
): Promise<LedgerEntry[]> {
  const rows = await sql.query<LedgerRow>(
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
