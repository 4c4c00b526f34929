// The saga barrier: each saga branch runs as one local transaction that first claims its
// (gid, branch, op) row. Duplicates become no-ops that return the first result, a
// compensation that arrives before its action succeeds without doing anything and blocks
// that action forever (null compensation, no hanging).
import type { Database, Sql } from '../db';
import { DomainError } from '../errors';

/** Claims a barrier row; true when this call inserted it. */
async function claim(
  tx: Sql,
  gid: string,
  branchId: string,
  op: 'action' | 'compensate',
  origin: string,
  now: Date,
): Promise<boolean> {
  const res = await tx.execute(
    'INSERT IGNORE INTO tx_barrier (gid, branch_id, op, origin, created_at) VALUES (?, ?, ?, ?, ?)',
    [gid, branchId, op, origin, now],
  );
  return res.affectedRows === 1;
}

/** Runs a saga action once; a repeat returns the stored result of the first run. */
export function sagaAction<T>(
  db: Database,
  gid: string,
  branchId: string,
  body: (tx: Sql) => Promise<T>,
): Promise<T> {
  return db.transaction(async (tx) => {
    if (await claim(tx, gid, branchId, 'action', 'action', new Date())) {
      const result = await body(tx);
      await tx.writeAtEnd(
        "UPDATE tx_barrier SET result = ? WHERE gid = ? AND branch_id = ? AND op = 'action'",
        [JSON.stringify(result ?? null), gid, branchId],
      );
      return result;
    }
    const [row] = await tx.query<{ origin: string; result: unknown }>(
      "SELECT origin, result FROM tx_barrier WHERE gid = ? AND branch_id = ? AND op = 'action'",
      [gid, branchId],
    );
    if (row?.origin === 'compensate') {
      throw new DomainError(
        'BRANCH_REFUSED',
        `branch ${branchId} of ${gid} was already compensated`,
      );
    }
    return parseResult(row?.result) as T;
  });
}

/**
 * Runs a saga compensation once. The body receives the action's stored result; it is not
 * called at all when the action never ran.
 */
export function sagaCompensate<R>(
  db: Database,
  gid: string,
  branchId: string,
  body: (tx: Sql, actionResult: R) => Promise<void>,
): Promise<void> {
  return db.transaction(async (tx) => {
    const now = new Date();
    const actionNeverRan = await claim(tx, gid, branchId, 'action', 'compensate', now);
    const first = await claim(tx, gid, branchId, 'compensate', 'compensate', now);
    if (actionNeverRan || !first) return;
    const [row] = await tx.query<{ result: unknown }>(
      "SELECT result FROM tx_barrier WHERE gid = ? AND branch_id = ? AND op = 'action'",
      [gid, branchId],
    );
    await body(tx, parseResult(row?.result) as R);
  });
}

/** mysql2 returns JSON columns parsed already on MySQL, as text on MariaDB. */
function parseResult(raw: unknown): unknown {
  if (typeof raw === 'string') return JSON.parse(raw) as unknown;
  return raw ?? undefined;
}
