// The operator's side of the transaction log, in the coordinator's database: listings with
// filters, keyset pages and counts; one transaction with its history; the operators' actions as
// compare-and-sets on the state they saw; and the audit trail of those actions.
import type { Database, SqlParam } from '../../lib/db';
import type { TxMode } from '../../lib/txMode';
import {
  OPEN_STATES,
  historyEntry,
  type HistoryEvent,
  type Outcome,
  type TxState,
} from '../engine/log';
import type { PageCursor, ShownState, TxFilter } from './rules';

/** A transaction as a listing shows it. */
export interface TxSummary {
  gid: string;
  flow: string;
  mode: TxMode;
  state: TxState;
  parkedAt: Date | null;
  attempts: number;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
  deadlineAt: Date;
  nextAttemptAt: Date;
  userId: string | null;
  reservationId: string | null;
  paymentId: string | null;
}

export interface HistoryEntry {
  at: string;
  event: HistoryEvent;
  state: TxState;
  detail: string | null;
}

/** A transaction with what only its own page shows. */
export interface TxDetail extends TxSummary {
  input: unknown;
  outcome: Outcome | null;
  traceContext: string | null;
  history: HistoryEntry[];
}

/** One row of the audit trail. */
export interface ActionRecord {
  at: Date;
  actor: string;
  action: string;
  target: string;
  expectedState: string | null;
  result: 'DONE' | 'REFUSED';
  detail: string;
}

interface SummaryRow {
  gid: string;
  flow: string;
  mode: TxMode;
  state: TxState;
  parked_at: Date | null;
  attempts: number;
  last_error: string | null;
  created_at: Date;
  updated_at: Date;
  deadline_at: Date;
  next_attempt_at: Date;
  user_id: string | null;
  reservation_id: string | null;
  payment_id: string | null;
}

interface DetailRow extends SummaryRow {
  payload: unknown;
  outcome: unknown;
  trace_context: string | null;
  history: unknown;
}

const SUMMARY_COLUMNS = `gid, flow, mode, state, parked_at, attempts, last_error, created_at, updated_at,
  deadline_at, next_attempt_at, user_id, reservation_id, payment_id`;
const OPEN_LIST = OPEN_STATES.map((s) => `'${s}'`).join(',');
/** Where a condition on the shown state is written: STUCK is parked and open. */
const STUCK_SQL = `(parked_at IS NOT NULL AND state IN (${OPEN_LIST}))`;
const IN_DOUBT_SQL = `(mode = 'xa' AND state = 'RUNNING' AND deadline_at <= ?)`;

const json = (raw: unknown): unknown => (typeof raw === 'string' ? JSON.parse(raw) : raw);

function toSummary(r: SummaryRow): TxSummary {
  return {
    gid: r.gid,
    flow: r.flow,
    mode: r.mode,
    state: r.state,
    parkedAt: r.parked_at,
    attempts: r.attempts,
    lastError: r.last_error,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    deadlineAt: r.deadline_at,
    nextAttemptAt: r.next_attempt_at,
    userId: r.user_id,
    reservationId: r.reservation_id,
    paymentId: r.payment_id,
  };
}

/** The condition of the shown state `state` (STUCK, or a state and not parked). */
function shownCondition(state: ShownState): { sql: string; params: SqlParam[] } {
  if (state === 'STUCK') return { sql: STUCK_SQL, params: [] };
  return { sql: `(state = ? AND NOT ${STUCK_SQL})`, params: [state] };
}

/** WHERE conditions of a filter (the state's too unless `withState` is false). */
function conditions(
  f: TxFilter,
  now: Date,
  withState = true,
): { sql: string[]; params: SqlParam[] } {
  const sql: string[] = [];
  const params: SqlParam[] = [];
  const add = (cond: string, ...values: SqlParam[]) => {
    sql.push(cond);
    params.push(...values);
  };
  const state = withState ? f.state : undefined;
  if (state === 'IN_DOUBT') add(IN_DOUBT_SQL, now);
  else if (state) {
    const c = shownCondition(state);
    add(c.sql, ...c.params);
  }
  if (f.flow) add('flow = ?', f.flow);
  if (f.mode) add('mode = ?', f.mode);
  if (f.createdUpTo) add('created_at <= ?', f.createdUpTo);
  if (f.createdFrom) add('created_at >= ?', f.createdFrom);
  if (f.userId) add('user_id = ?', f.userId);
  if (f.reservationId) add('reservation_id = ?', f.reservationId);
  if (f.paymentId) add('payment_id = ?', f.paymentId);
  return { sql, params };
}

const where = (sql: string[]) => (sql.length ? `WHERE ${sql.join(' AND ')}` : '');

export class OperatorData {
  constructor(private readonly db: Database) {}

  /** Up to `limit` transactions of the filter after the cursor, newest first. */
  async list(
    filter: TxFilter,
    now: Date,
    limit: number,
    after: PageCursor | undefined,
  ): Promise<TxSummary[]> {
    const c = conditions(filter, now);
    if (after) {
      c.sql.push('(created_at < ? OR (created_at = ? AND gid < ?))');
      c.params.push(after.createdAt, after.createdAt, after.gid);
    }
    const rows = await this.db.query<SummaryRow>(
      `SELECT ${SUMMARY_COLUMNS} FROM global_tx ${where(c.sql)}
       ORDER BY created_at DESC, gid DESC LIMIT ?`,
      [...c.params, limit],
    );
    return rows.map(toSummary);
  }

  /** How many transactions of the filter (its state aside) each shown state has, and IN_DOUBT. */
  async counts(filter: TxFilter, now: Date): Promise<Map<string, number>> {
    const c = conditions(filter, now, false);
    const doubt = [...c.sql, IN_DOUBT_SQL];
    const rows = await this.db.query<{ shown: string; n: number }>(
      `SELECT IF(${STUCK_SQL}, 'STUCK', state) AS shown, COUNT(*) AS n
         FROM global_tx ${where(c.sql)} GROUP BY shown
       UNION ALL
       SELECT 'IN_DOUBT', COUNT(*) FROM global_tx ${where(doubt)}`,
      [...c.params, ...c.params, now],
    );
    // A state without any is left out (the IN_DOUBT count always has its row).
    return new Map(rows.filter((r) => Number(r.n) > 0).map((r) => [r.shown, Number(r.n)]));
  }

  async get(gid: string): Promise<TxDetail | undefined> {
    const [row] = await this.db.query<DetailRow>(
      `SELECT ${SUMMARY_COLUMNS}, payload, outcome, trace_context, history FROM global_tx WHERE gid = ?`,
      [gid],
    );
    if (!row) return undefined;
    return {
      ...toSummary(row),
      input: json(row.payload),
      outcome: (json(row.outcome) as Outcome | null) ?? null,
      traceContext: row.trace_context,
      history: (json(row.history) as HistoryEntry[] | null) ?? [],
    };
  }

  /**
   * An operator's retry: an open transaction in the state the operator saw becomes due now,
   * unparked, its attempts counted afresh. False when it is no longer in that state.
   */
  async retry(gid: string, seen: ShownState, now: Date, actor: string): Promise<boolean> {
    const seenCond = shownCondition(seen);
    const entry = historyEntry(now, 'RETRIED', null, `by ${actor}`);
    const res = await this.db.execute(
      `UPDATE global_tx SET parked_at = NULL, attempts = 0, next_attempt_at = ?, updated_at = ?,
         ${entry.sql}
       WHERE gid = ? AND state IN (${OPEN_LIST}) AND ${seenCond.sql}`,
      [now, now, ...entry.params, gid, ...seenCond.params],
    );
    return res.affectedRows === 1;
  }

  /**
   * Presumed abort by an operator: RUNNING (as seen: RUNNING or STUCK) to ABORTING with its
   * outcome, unparked and due now, so recovery rolls the branches back. False when it moved.
   */
  async presumeAbort(
    gid: string,
    seen: 'RUNNING' | 'STUCK',
    decision: { outcome: Outcome; nextAttemptAt: Date },
    now: Date,
    actor: string,
  ): Promise<boolean> {
    const seenCond = shownCondition(seen);
    const entry = historyEntry(now, 'DECIDED', 'ABORTING', `presumed abort by ${actor}`);
    const res = await this.db.execute(
      `UPDATE global_tx SET state = 'ABORTING', outcome = ?, parked_at = NULL, attempts = 0,
         next_attempt_at = ?, updated_at = ?, ${entry.sql}
       WHERE gid = ? AND state = 'RUNNING' AND ${seenCond.sql}`,
      [
        JSON.stringify(decision.outcome),
        decision.nextAttemptAt,
        now,
        ...entry.params,
        gid,
        ...seenCond.params,
      ],
    );
    return res.affectedRows === 1;
  }

  async record(a: ActionRecord): Promise<void> {
    await this.db.execute(
      `INSERT INTO operator_action (at, actor, action, target, expected_state, result, detail)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      [a.at, a.actor, a.action, a.target, a.expectedState, a.result, a.detail.slice(0, 512)],
    );
  }

  /** The audit trail, newest first (of one target when given). */
  async actions(target: string | undefined, limit: number): Promise<ActionRecord[]> {
    const rows = await this.db.query<{
      at: Date;
      actor: string;
      action: string;
      target: string;
      expected_state: string | null;
      result: 'DONE' | 'REFUSED';
      detail: string;
    }>(
      `SELECT at, actor, action, target, expected_state, result, detail FROM operator_action
       ${target ? 'WHERE target = ?' : ''} ORDER BY id DESC LIMIT ?`,
      target ? [target, limit] : [limit],
    );
    return rows.map((r) => ({
      at: r.at,
      actor: r.actor,
      action: r.action,
      target: r.target,
      expectedState: r.expected_state,
      result: r.result,
      detail: r.detail,
    }));
  }
}
