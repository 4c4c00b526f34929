// The answers of charges made under an Idempotency-Key, per user: written in the charge's own
// transaction (so a key has an answer exactly when its charge committed), or alone for a
// refusal, which changed nothing. Kept at least CHARGE_KEY_RETENTION_MS.
import type { Sql } from '../../../lib/db';

/** What the first charge under a key answered: the movement, or the refusal. */
export type KeptAnswer =
  | { ok: true; value: unknown }
  | { ok: false; reason: string; message: string; metadata: Record<string, string> };

export interface ChargeKey {
  requestHash: string;
  answer: KeptAnswer;
}

export const CHARGE_KEY_RETENTION_MS = 24 * 60 * 60 * 1000;

const INSERT = `INSERT INTO charge_key (user_id, idem_key, request_hash, answer, created_at)
  VALUES (?, ?, ?, ?, ?)`;

/** Records the key's answer with the charge's commit; a key answered already fails it. */
export function keepWithCharge(
  sql: Sql,
  userId: string,
  key: string,
  k: ChargeKey,
  now: Date,
): Promise<void> {
  return sql.writeAtEnd(INSERT, [userId, key, k.requestHash, JSON.stringify(k.answer), now]);
}

/** Records a refusal as the key's answer, unless the key has one already. */
export async function keepRefusal(
  sql: Sql,
  userId: string,
  key: string,
  k: ChargeKey,
  now: Date,
): Promise<void> {
  await sql.execute(INSERT.replace('INSERT INTO', 'INSERT IGNORE INTO'), [
    userId,
    key,
    k.requestHash,
    JSON.stringify(k.answer),
    now,
  ]);
}

export async function findKey(
  sql: Sql,
  userId: string,
  key: string,
): Promise<ChargeKey | undefined> {
  const [row] = await sql.query<{ request_hash: string; answer: unknown }>(
    'SELECT request_hash, answer FROM charge_key WHERE user_id = ? AND idem_key = ?',
    [userId, key],
  );
  if (!row) return undefined;
  // mysql2 returns JSON columns parsed on MySQL, as text on MariaDB.
  const answer = typeof row.answer === 'string' ? JSON.parse(row.answer) : row.answer;
  return { requestHash: row.request_hash, answer: answer as KeptAnswer };
}

/** Forgets keys older than `before`, a batch at a time; answers how many. */
export async function forgetKeys(sql: Sql, before: Date, limit: number): Promise<number> {
  const res = await sql.execute('DELETE FROM charge_key WHERE created_at < ? LIMIT ?', [
    before,
    limit,
  ]);
  return res.affectedRows;
}
