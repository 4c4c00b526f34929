// The durable log of global transactions. Every state change is a compare-and-set on the
// state it expects; the decision of an XA transaction is written here before phase 2.
import type { Database, Statement } from '../../lib/db';
import { isDuplicateKey } from '../../lib/db';
import type { TxMode } from '../../lib/txMode';

export type TxState =
  'RUNNING' | 'COMMITTING' | 'ABORTING' | 'COMPENSATING' | 'COMMITTED' | 'ABORTED';
export const OPEN_STATES: TxState[] = ['RUNNING', 'COMMITTING', 'ABORTING', 'COMPENSATING'];
export const TERMINAL_STATES: TxState[] = ['COMMITTED', 'ABORTED'];

/** What a finished transaction answered: its output, or the refusal. */
export type Outcome =
  | { ok: true; value: unknown }
  | { ok: false; reason: string; message: string; metadata: Record<string, string> };

export interface BranchRecord {
  branchId: string;
  participant: string;
  action: string;
  state: string;
  attempts: number;
  lastError: string | null;
  /** When its first call started, and its last answer came (null where not recorded). */
  startedAt: Date | null;
  endedAt: Date | null;
}

/** What a history entry records: a state change, parking, or an operator's action. */
export type HistoryEvent = 'MOVED' | 'PARKED' | 'RETRIED' | 'DECIDED';

export interface TxRecord {
  gid: string;
  flow: string;
  mode: TxMode;
  state: TxState;
  payload: unknown;
  outcome: Outcome | null;
  requestHash: string | null;
  owner: string;
  deadlineAt: Date;
  attempts: number;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
  traceContext: string | null;
  /** Since when recovery has stopped trying (STUCK, for an operator); null while it tries. */
  parkedAt: Date | null;
  /** The fencing token: how many times recovery has claimed it (0: its request's run). */
  claim: number;
}

/** A transaction recovery has just claimed, and the claim its run holds. */
export interface Claimed {
  gid: string;
  claim: number;
}

/** A transaction that has ended, as participants' housekeeping asks about it. */
export interface EndedTx {
  gid: string;
  state: 'COMMITTED' | 'ABORTED';
  endedAt: Date;
}

/** Which transactions to list: a logged state, or STUCK (parked, whatever its state). */
export type ListFilter = TxState | 'STUCK' | undefined;

export interface NewTx {
  gid: string;
  flow: string;
  mode: TxMode;
  payload: unknown;
  owner: string;
  deadlineAt: Date;
  /** Recovery leaves the transaction to its owner until then. */
  leaseUntil: Date;
  idempotencyKey?: string;
  requestHash?: string;
  /** W3C traceparent of the request that started it. */
  traceContext?: string;
}

interface TxRow {
  gid: string;
  flow: string;
  mode: TxMode;
  state: TxState;
  payload: unknown;
  outcome: unknown;
  request_hash: string | null;
  owner: string;
  deadline_at: Date;
  attempts: number;
  last_error: string | null;
  created_at: Date;
  updated_at: Date;
  trace_context: string | null;
  parked_at: Date | null;
  claim: number;
}

const json = (raw: unknown): unknown => (typeof raw === 'string' ? JSON.parse(raw) : raw);

function toRecord(r: TxRow): TxRecord {
  return {
    gid: r.gid,
    flow: r.flow,
    mode: r.mode,
    state: r.state,
    payload: json(r.payload),
    outcome: (json(r.outcome) as Outcome | null) ?? null,
    requestHash: r.request_hash,
    owner: r.owner,
    deadlineAt: r.deadline_at,
    attempts: r.attempts,
    lastError: r.last_error,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    traceContext: r.trace_context,
    parkedAt: r.parked_at,
    claim: r.claim,
  };
}

const TX_COLUMNS =
  'gid, flow, mode, state, payload, outcome, request_hash, owner, deadline_at, attempts, last_error, created_at, updated_at, trace_context, parked_at, claim';

/** Where a parked transaction's next attempt is: out of recovery's reach until a retry. */
const NEVER = new Date('9999-12-31T00:00:00Z');

/** Extra fields a state change writes with it. */
export interface TransitionExtra {
  /**
   * The claim the run started under: the state moves only if no one has claimed the
   * transaction since (a fenced run). Unset: whoever runs it (a decision anyone may take).
   */
  claim?: number;
  outcome?: Outcome;
  /** The branches' latest view, written only if the state moved. */
  branches?: BranchRecord[];
  nextAttemptAt?: Date;
}

/**
 * The log as the engine and recovery use it. Every state change is a compare-and-set on the
 * state it expects, so two coordinators can never both move a transaction.
 */
export interface TxLog {
  /** Records a new RUNNING transaction; false when its idempotency key is taken. */
  begin(tx: NewTx, now: Date): Promise<boolean>;
  /** Frees the key of a transaction that ended ABORTED as UNAVAILABLE; true when it did. */
  releaseVoidKey(key: string, requestHash: string | undefined): Promise<boolean>;
  get(gid: string): Promise<TxRecord | undefined>;
  byIdempotencyKey(key: string): Promise<TxRecord | undefined>;
  list(filter: ListFilter, limit: number): Promise<TxRecord[]>;
  branches(gid: string): Promise<BranchRecord[]>;
  /** Moves the transaction if it is still in `from`; false when someone else moved it. */
  transition(
    gid: string,
    from: TxState | TxState[],
    to: TxState,
    now: Date,
    extra?: TransitionExtra,
  ): Promise<boolean>;
  /** Notes a failed attempt on a branch (the rare path: retries and refusals). */
  noteBranch(gid: string, branch: BranchRecord, now: Date): Promise<void>;
  /**
   * Claims up to `limit` open transactions whose lease ran out, each for one claimer only;
   * answers each with the claim (fencing token) it now holds.
   */
  claimDue(owner: string, now: Date, leaseUntil: Date, limit: number): Promise<Claimed[]>;
  /** At start-up: transactions this coordinator id owned before a restart are due now. */
  releaseOwned(owner: string, now: Date): Promise<number>;
  /**
  /**
   * Pushes the next recovery attempt out (after a failed attempt), with the error seen and the
   * branches' view of the attempt, if the caller has one (the rare path: it costs no round trip);
   * only under the run's `claim`.
   */
  postpone(
    gid: string,
    until: Date,
    error: string,
    now: Date,
    claim: number,
    branches?: BranchRecord[],
  ): Promise<void>;
  /**
   * Stops recovery from trying (STUCK) until an operator retries, with the branches' view of the
   * last attempt; false if it already ended or was claimed since `claim`.
   */
  park(
    gid: string,
    error: string,
    now: Date,
    claim: number,
    branches?: BranchRecord[],
  ): Promise<boolean>;
  /** Those of `gids` that have ended (COMMITTED or ABORTED), with when. */
  ended(gids: string[]): Promise<EndedTx[]>;
}

/** The log in the coordinator's MariaDB database (global_tx and tx_branch). */
export class SqlTxLog implements TxLog {
  constructor(private readonly db: Database) {}

  /** Records a new RUNNING transaction; false when its idempotency key is taken. */
  async begin(tx: NewTx, now: Date): Promise<boolean> {
    try {
      await this.db.execute(
        `INSERT INTO global_tx (gid, flow, mode, state, payload, idempotency_key, request_hash, owner,
           next_attempt_at, deadline_at, created_at, updated_at, trace_context)
         VALUES (?, ?, ?, 'RUNNING', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          tx.gid,
          tx.flow,
          tx.mode,
          JSON.stringify(tx.payload),
          tx.idempotencyKey ?? null,
          tx.requestHash ?? null,
          tx.owner,
          tx.leaseUntil,
          tx.deadlineAt,
          now,
          now,
          tx.traceContext ?? null,
        ],
      );
      return true;
    } catch (err) {
      if (tx.idempotencyKey && isDuplicateKey(err)) return false;
      throw err;
    }
  }

  /**
   * Frees an idempotency key whose transaction ended ABORTED as UNAVAILABLE (interrupted: it
   * changed nothing) for the same request; true when it did. Concurrent callers free it once.
   */
  async releaseVoidKey(key: string, requestHash: string | undefined): Promise<boolean> {
    const res = await this.db.execute(
      `UPDATE global_tx SET idempotency_key = NULL
       WHERE idempotency_key = ? AND request_hash <=> ? AND state = 'ABORTED'
         AND JSON_VALUE(outcome, '$.reason') = 'UNAVAILABLE'`,
      [key, requestHash ?? null],
    );
    return res.affectedRows === 1;
  }

  async get(gid: string): Promise<TxRecord | undefined> {
    const [row] = await this.db.query<TxRow>(`SELECT ${TX_COLUMNS} FROM global_tx WHERE gid = ?`, [
      gid,
    ]);
    return row ? toRecord(row) : undefined;
  }

  async byIdempotencyKey(key: string): Promise<TxRecord | undefined> {
    const [row] = await this.db.query<TxRow>(
      `SELECT ${TX_COLUMNS} FROM global_tx WHERE idempotency_key = ?`,
      [key],
    );
    return row ? toRecord(row) : undefined;
  }

  async list(filter: ListFilter, limit: number): Promise<TxRecord[]> {
    const where =
      filter === 'STUCK' ? 'WHERE parked_at IS NOT NULL' : filter ? 'WHERE state = ?' : '';
    const params = filter && filter !== 'STUCK' ? [filter, limit] : [limit];
    const rows = await this.db.query<TxRow>(
      `SELECT ${TX_COLUMNS} FROM global_tx ${where} ORDER BY created_at DESC LIMIT ?`,
      params,
    );
    return rows.map(toRecord);
  }

  async branches(gid: string): Promise<BranchRecord[]> {
    const rows = await this.db.query<{
      branch_id: string;
      participant: string;
      action: string;
      state: string;
      attempts: number;
      last_error: string | null;
      started_at: Date | null;
      ended_at: Date | null;
    }>(
      `SELECT branch_id, participant, action, state, attempts, last_error, started_at, ended_at
       FROM tx_branch WHERE gid = ? ORDER BY COALESCE(started_at, updated_at), branch_id`,
      [gid],
    );
    return rows.map((r) => ({
      branchId: r.branch_id,
      participant: r.participant,
      action: r.action,
      state: r.state,
      attempts: r.attempts,
      lastError: r.last_error,
      startedAt: r.started_at,
      endedAt: r.ended_at,
    }));
  }

  /**
   * Moves the transaction from one state to another if it is still in `from`, and records the
   * branches' latest view if it moved, in one round trip. False when someone else moved it. The
   * view is for operators (GetTransaction); recovery never reads it.
   */
  async transition(
    gid: string,
    from: TxState | TxState[],
    to: TxState,
    now: Date,
    extra: TransitionExtra = {},
  ): Promise<boolean> {
    const froms = Array.isArray(from) ? from : [from];
    const fenced = extra.claim !== undefined;
    const entry = historyEntry(now, 'MOVED', to);
    // An ended transaction is parked no more (presumed abort may end a parked one).
    const move: Statement = {
      sql: `UPDATE global_tx SET state = ?, outcome = COALESCE(?, outcome), next_attempt_at = COALESCE(?, next_attempt_at),
         updated_at = ?, parked_at = IF(? IN ('COMMITTED','ABORTED'), NULL, parked_at), ${entry.sql}
         WHERE gid = ? AND state IN (${froms.map(() => '?').join(', ')})${fenced ? ' AND claim = ?' : ''}`,
      params: [
        to,
        extra.outcome ? JSON.stringify(extra.outcome) : null,
        extra.nextAttemptAt ?? null,
        now,
        to,
        ...entry.params,
        gid,
        ...froms,
        ...(fenced ? [extra.claim!] : []),
      ],
    };
    const branches = extra.branches ?? [];
    if (branches.length === 0)
      return (await this.db.execute(move.sql, move.params)).affectedRows === 1;
    const [moved] = await this.db.executeAll([
      move,
      { sql: 'SET @moved = ROW_COUNT()', params: [] },
      branchView(gid, branches, now, '@moved = 1'),
    ]);
    return moved.affectedRows === 1;
  }

  /** Notes a failed attempt on a branch (the rare path: retries and refusals). */
  async noteBranch(gid: string, branch: BranchRecord, now: Date): Promise<void> {
    const view = branchView(gid, [branch], now, 'TRUE');
    await this.db.execute(view.sql, view.params);
    await this.db.execute('UPDATE global_tx SET last_error = ?, updated_at = ? WHERE gid = ?', [
      branch.lastError?.slice(0, 512) ?? null,
      now,
      gid,
    ]);
  }

  /**
   * Claims up to `limit` open transactions whose lease ran out. Rows another coordinator is
   * claiming at the same moment are skipped (SKIP LOCKED), so concurrent claimers take
   * disjoint batches and each transaction is claimed exactly once.
   */
  async claimDue(owner: string, now: Date, leaseUntil: Date, limit: number): Promise<Claimed[]> {
    try {
      return await this.claim(owner, now, leaseUntil, limit);
    } catch (err) {
      // Concurrent claimers can still collide on the due-index entries they move: that round
      // claims nothing and the next tick tries again.
      const errno = (err as { errno?: number }).errno;
      if (errno === 1213 || errno === 1205) return [];
      throw err;
    }
  }

  private claim(owner: string, now: Date, leaseUntil: Date, limit: number): Promise<Claimed[]> {
    return this.db.transaction(async (sql) => {
      const due = await sql.query<{ gid: string; claim: number }>(
        `SELECT gid, claim FROM global_tx WHERE state IN ('RUNNING','COMMITTING','ABORTING','COMPENSATING')
           AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED`,
        [now, limit],
      );
      if (due.length === 0) return [];
      const gids = due.map((d) => d.gid);
      await sql.execute(
        `UPDATE global_tx SET owner = ?, next_attempt_at = ?, attempts = attempts + 1,
           claim = claim + 1, updated_at = ?
         WHERE gid IN (${gids.map(() => '?').join(', ')})`,
        [owner, leaseUntil, now, ...gids],
      );
      return due.map((d) => ({ gid: d.gid, claim: d.claim + 1 }));
    });
  }

  /** At start-up: transactions this coordinator id owned before a restart are due now. */
  async releaseOwned(owner: string, now: Date): Promise<number> {
    const res = await this.db.execute(
      `UPDATE global_tx SET next_attempt_at = ? WHERE owner = ? AND state IN ('RUNNING','COMMITTING','ABORTING','COMPENSATING')`,
      [now, owner],
    );
    return res.affectedRows;
  }

  /** Pushes the next recovery attempt out (after a failed attempt), with the error seen. */
  async postpone(
    gid: string,
    until: Date,
    error: string,
    now: Date,
    claim: number,
    branches: BranchRecord[] = [],
  ): Promise<void> {
    await this.db.executeAll([
      {
        sql: `UPDATE global_tx SET next_attempt_at = ?, last_error = ?, updated_at = ?
         WHERE gid = ? AND claim = ?`,
        params: [until, error.slice(0, 512), now, gid, claim],
      },
      ...(branches.length ? [branchView(gid, branches, now, 'TRUE')] : []),
    ]);
  }

  async park(
    gid: string,
    error: string,
    now: Date,
    claim: number,
    branches: BranchRecord[] = [],
  ): Promise<boolean> {
    const entry = historyEntry(now, 'PARKED', null, error);
    const [parked] = await this.db.executeAll([
      {
        sql: `UPDATE global_tx SET parked_at = COALESCE(parked_at, ?), next_attempt_at = ?, last_error = ?,
         updated_at = ?, ${entry.sql} WHERE gid = ? AND claim = ?
         AND state IN ('RUNNING','COMMITTING','ABORTING','COMPENSATING')`,
        params: [now, NEVER, error.slice(0, 512), now, ...entry.params, gid, claim],
      },
      ...(branches.length
        ? [
            { sql: 'SET @moved = ROW_COUNT()', params: [] },
            branchView(gid, branches, now, '@moved = 1'),
          ]
        : []),
    ]);
    return parked.affectedRows === 1;
  }

  async ended(gids: string[]): Promise<EndedTx[]> {
    if (gids.length === 0) return [];
    const rows = await this.db.query<{ gid: string; state: EndedTx['state']; updated_at: Date }>(
      `SELECT gid, state, updated_at FROM global_tx
       WHERE gid IN (${gids.map(() => '?').join(', ')}) AND state IN ('COMMITTED','ABORTED')`,
      gids,
    );
    return rows.map((r) => ({ gid: r.gid, state: r.state, endedAt: r.updated_at }));
  }
}

/**
 * Upserts the branches' view, when `condition` holds at the time (a SQL condition, such as a
 * session variable an earlier statement of the same round trip set).
 */
function branchView(
  gid: string,
  branches: BranchRecord[],
  now: Date,
  condition: string,
): Statement {
  const rows = branches
    .map((_, i) =>
      i === 0
        ? 'SELECT ? AS gid, ? AS branch_id, ? AS participant, ? AS action, ? AS state, ? AS attempts, ? AS last_error, ? AS updated_at, ? AS started_at, ? AS ended_at'
        : 'SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?',
    )
    .join(' UNION ALL ');
  // A later run's calls (recovery's) extend the branch's span: its first start is kept.
  return {
    sql: `INSERT INTO tx_branch (gid, branch_id, participant, action, state, attempts, last_error, updated_at, started_at, ended_at)
     SELECT * FROM (${rows}) AS latest WHERE ${condition}
     ON DUPLICATE KEY UPDATE state = VALUES(state),
       attempts = GREATEST(tx_branch.attempts, VALUES(attempts)),
       last_error = COALESCE(VALUES(last_error), tx_branch.last_error),
       updated_at = VALUES(updated_at),
       started_at = COALESCE(tx_branch.started_at, VALUES(started_at)),
       ended_at = COALESCE(VALUES(ended_at), tx_branch.ended_at)`,
    params: branches.flatMap((b) => [
      gid,
      b.branchId,
      b.participant,
      b.action,
      b.state,
      b.attempts,
      b.lastError?.slice(0, 512) ?? null,
      now,
      b.startedAt,
      b.endedAt,
    ]),
  };
}

/**
 * The SET clause that appends one entry to a transaction's history, in the statement that makes
 * the change: `state` null records the state the row holds.
 */
export function historyEntry(
  at: Date,
  event: HistoryEvent,
  state: TxState | null,
  detail: string | null = null,
): Statement {
  return {
    sql: `history = JSON_ARRAY_APPEND(COALESCE(history, JSON_ARRAY()), '$',
      JSON_OBJECT('at', ?, 'event', ?, 'state', COALESCE(?, state), 'detail', ?))`,
    params: [at.toISOString(), event, state, detail?.slice(0, 512) ?? null],
  };
}
