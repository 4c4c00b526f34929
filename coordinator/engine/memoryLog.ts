// The transaction log in memory, with the SQL log's compare-and-set semantics: what the engine's
// unit tests run against (log.int.test.ts holds the SQL log to the same contract).
import type {
  BranchRecord,
  Claimed,
  EndedTx,
  ListFilter,
  NewTx,
  TransitionExtra,
  TxLog,
  TxRecord,
  TxState,
} from './log';
import { OPEN_STATES } from './log';

const NEVER = new Date('9999-12-31T00:00:00Z');

interface Row extends TxRecord {
  idempotencyKey: string | null;
  nextAttemptAt: Date;
}

export class MemoryTxLog implements TxLog {
  private readonly rows = new Map<string, Row>();
  private readonly views = new Map<string, Map<string, BranchRecord>>();
  /** Every state each transaction went through, in order (for assertions). */
  readonly history = new Map<string, TxState[]>();

  async begin(tx: NewTx, now: Date): Promise<boolean> {
    const key = tx.idempotencyKey ?? null;
    if (key !== null && [...this.rows.values()].some((r) => r.idempotencyKey === key)) return false;
    this.rows.set(tx.gid, {
      gid: tx.gid,
      flow: tx.flow,
      mode: tx.mode,
      state: 'RUNNING',
      payload: structuredClone(tx.payload),
      outcome: null,
      requestHash: tx.requestHash ?? null,
      owner: tx.owner,
      deadlineAt: tx.deadlineAt,
      attempts: 0,
      lastError: null,
      createdAt: now,
      updatedAt: now,
      traceContext: tx.traceContext ?? null,
      parkedAt: null,
      claim: 0,
      idempotencyKey: key,
      nextAttemptAt: tx.leaseUntil,
    });
    this.history.set(tx.gid, ['RUNNING']);
    return true;
  }

  /** Puts a transaction in the log as an interrupted run would have left it. */
  seed(rec: Partial<TxRecord> & Pick<TxRecord, 'gid' | 'flow' | 'mode' | 'state'>): void {
    const now = new Date();
    this.rows.set(rec.gid, {
      payload: {},
      outcome: null,
      requestHash: null,
      owner: 'someone',
      deadlineAt: new Date(now.getTime() + 60_000),
      attempts: 0,
      lastError: null,
      createdAt: now,
      updatedAt: now,
      traceContext: null,
      parkedAt: null,
      claim: 0,
      idempotencyKey: null,
      nextAttemptAt: now,
      ...rec,
    });
    this.history.set(rec.gid, [rec.state]);
  }

  async releaseVoidKey(key: string, requestHash: string | undefined): Promise<boolean> {
    const row = [...this.rows.values()].find(
      (r) =>
        r.idempotencyKey === key &&
        r.requestHash === (requestHash ?? null) &&
        r.state === 'ABORTED' &&
        r.outcome?.ok === false &&
        r.outcome.reason === 'UNAVAILABLE',
    );
    if (!row) return false;
    row.idempotencyKey = null;
    return true;
  }

  async get(gid: string): Promise<TxRecord | undefined> {
    const row = this.rows.get(gid);
    return row && structuredClone(row);
  }

  async byIdempotencyKey(key: string): Promise<TxRecord | undefined> {
    const row = [...this.rows.values()].find((r) => r.idempotencyKey === key);
    return row && structuredClone(row);
  }

  async list(filter: ListFilter, limit: number): Promise<TxRecord[]> {
    return [...this.rows.values()]
      .filter((r) =>
        filter === 'STUCK' ? r.parkedAt !== null : filter === undefined || r.state === filter,
      )
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
      .slice(0, limit)
      .map((r) => structuredClone(r));
  }

  async branches(gid: string): Promise<BranchRecord[]> {
    return [...(this.views.get(gid)?.values() ?? [])];
  }

  async transition(
    gid: string,
    from: TxState | TxState[],
    to: TxState,
    now: Date,
    extra: TransitionExtra = {},
  ): Promise<boolean> {
    const row = this.rows.get(gid);
    const froms = Array.isArray(from) ? from : [from];
    if (!row || !froms.includes(row.state)) return false;
    if (extra.claim !== undefined && extra.claim !== row.claim) return false;
    row.state = to;
    row.outcome = extra.outcome ? structuredClone(extra.outcome) : row.outcome;
    row.nextAttemptAt = extra.nextAttemptAt ?? row.nextAttemptAt;
    row.updatedAt = now;
    this.history.get(gid)!.push(to);
    for (const b of extra.branches ?? []) this.view(gid).set(b.branchId, { ...b });
    return true;
  }

  async noteBranch(gid: string, branch: BranchRecord, now: Date): Promise<void> {
    this.view(gid).set(branch.branchId, { ...branch });
    const row = this.rows.get(gid);
    if (row) {
      row.lastError = branch.lastError;
      row.updatedAt = now;
    }
  }

  async claimDue(owner: string, now: Date, leaseUntil: Date, limit: number): Promise<Claimed[]> {
    const due = [...this.rows.values()]
      .filter((r) => OPEN_STATES.includes(r.state) && r.nextAttemptAt <= now)
      .sort((a, b) => a.nextAttemptAt.getTime() - b.nextAttemptAt.getTime())
      .slice(0, limit);
    for (const r of due) {
      r.owner = owner;
      r.nextAttemptAt = leaseUntil;
      r.attempts += 1;
      r.claim += 1;
      r.updatedAt = now;
    }
    return due.map((r) => ({ gid: r.gid, claim: r.claim }));
  }

  async releaseOwned(owner: string, now: Date): Promise<number> {
    let n = 0;
    for (const r of this.rows.values()) {
      if (r.owner === owner && OPEN_STATES.includes(r.state)) {
        r.nextAttemptAt = now;
        n++;
      }
    }
    return n;
  }

  async postpone(
    gid: string,
    until: Date,
    error: string,
    now: Date,
    claim: number,
    branches: BranchRecord[] = [],
  ): Promise<void> {
    const row = this.rows.get(gid);
    if (!row || row.claim !== claim) return;
    for (const b of branches) this.view(gid).set(b.branchId, { ...b });
    row.nextAttemptAt = until;
    row.lastError = error;
    row.updatedAt = now;
  }

  async park(
    gid: string,
    error: string,
    now: Date,
    claim: number,
    branches: BranchRecord[] = [],
  ): Promise<boolean> {
    const row = this.rows.get(gid);
    if (!row || row.claim !== claim || !OPEN_STATES.includes(row.state)) return false;
    for (const b of branches) this.view(gid).set(b.branchId, { ...b });
    row.parkedAt ??= now;
    row.nextAttemptAt = NEVER;
    row.lastError = error;
    row.updatedAt = now;
    return true;
  }

  async ended(gids: string[]): Promise<EndedTx[]> {
    return gids.flatMap((gid) => {
      const r = this.rows.get(gid);
      return r && (r.state === 'COMMITTED' || r.state === 'ABORTED')
        ? [{ gid, state: r.state, endedAt: r.updatedAt }]
        : [];
    });
  }

  /** When recovery may next claim the transaction. */
  nextAttemptAt(gid: string): Date | undefined {
    return this.rows.get(gid)?.nextAttemptAt;
  }

  private view(gid: string): Map<string, BranchRecord> {
    let v = this.views.get(gid);
    if (!v) this.views.set(gid, (v = new Map()));
    return v;
  }
}
