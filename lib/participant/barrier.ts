// The saga barrier: each saga branch runs as one local transaction with its (gid, branch, op)
// row. Duplicates become no-ops that return the first result, a compensation that arrives
// before its action succeeds without doing anything and blocks that action forever (null
// compensation, no hanging).
import type { Database, Sql } from '../db';
import { DomainError } from '../errors';
import { failpoint } from '../failpoints';

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

/**
 * Runs a saga action once; a repeat returns the stored result of the first run. The action's
 * barrier row, with its result, is written last, in the round trip that commits: a step costs
 * no round trip for its claim. Whoever got there first (an earlier run, or a compensation
 * that came before this action) makes that insert collide, which rolls this run back; so
 * after any failure the barrier is asked what happened before the failure is believed (a
 * repeat's body usually refuses, finding its own earlier change).
 */
export async function sagaAction<T>(
  db: Database,
  gid: string,
  branchId: string,
  body: (tx: Sql) => Promise<T>,
): Promise<T> {
  try {
    return await db.transaction(async (tx) => {
      const result = await body(tx);
      await tx.writeAtEnd(
        `INSERT INTO tx_barrier (gid, branch_id, op, origin, result, created_at)
         VALUES (?, ?, 'action', 'action', ?, ?)`,
        [gid, branchId, JSON.stringify(result ?? null), new Date()],
      );
      return result;
    });
  } catch (err) {
    // Without the barrier's answer the failure cannot be believed: a first run may have
    // committed, and this run's refusal may only be it finding its own change.
    const row = await lookUp(db, gid, branchId);
    if (!row) throw err;
    if (row.origin === 'compensate') {
      throw new DomainError(
        'BRANCH_REFUSED',
        `branch ${branchId} of ${gid} was already compensated`,
      );
    }
    return parseResult(row.result) as T;
  }
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
    const row = await actionRow(tx, gid, branchId);
    await body(tx, parseResult(row?.result) as R);
  });
}

async function lookUp(db: Database, gid: string, branchId: string): Promise<ActionRow | undefined> {
  try {
    await failpoint('participant.barrier.lookup');
    return await actionRow(db, gid, branchId);
  } catch (err) {
    throw new DomainError(
      'UNAVAILABLE',
      `could not learn whether branch ${branchId} of ${gid} ran: ${(err as Error).message}`,
    );
  }
}

/** An action's barrier row: who wrote it, and the action's result as JSON text. */
interface ActionRow {
  origin: string;
  result: string | null;
}

async function actionRow(sql: Sql, gid: string, branchId: string): Promise<ActionRow | undefined> {
  // As text on every server: mysql2 hands a JSON column back parsed on MySQL but as text on
  // MariaDB, and a stored bare string could not be told from its own JSON text.
  const [row] = await sql.query<ActionRow>(
    `SELECT origin, CAST(result AS CHAR) AS result FROM tx_barrier
     WHERE gid = ? AND branch_id = ? AND op = 'action'`,
    [gid, branchId],
  );
  return row;
}

function parseResult(text: string | null | undefined): unknown {
  return typeof text === 'string' ? (JSON.parse(text) as unknown) : undefined;
}
