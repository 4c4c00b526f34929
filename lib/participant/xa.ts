// XA branches of one participant database. A branch lives on one dedicated connection from
// START to PREPARE, and stays on it until phase 2: MariaDB lets no other connection finish a
// prepared branch while the one that prepared it is alive. Past the hold timeout the
// connection is closed, which detaches the branch so any connection (phase 2 or the in-doubt
// resolver) can finish it later.
//
// Everything a branch does on its connection — start, each call's statements, the closing
// batch, the rollback — runs in turn on the branch's queue, so an abort never shares the
// connection with a call still running: it waits for that call, and every call after it is
// refused. A rollback leaves the branch's row in tx_barrier behind (the XA form of the saga
// barrier's null compensation), and every branch writes that row first, so a call that arrives
// after its branch was rolled back — from a timed-out client, or on another replica — is
// refused instead of starting a branch nobody will ever finish (no hanging).
import type { Pool, PoolConnection } from 'mysql2/promise';
import type { DbConfig } from '../config';
import {
  Session,
  createPool,
  isDuplicateKey,
  type Sql,
  type SqlParam,
  type Statement,
} from '../db';
import { DomainError } from '../errors';
import { failpoint } from '../failpoints';
import type { Logger } from '../log';

export const XA_FORMAT_ID = 0x426f78; // "Box"
const XAER_NOTA = 1397;
const XAER_DUPID = 1440;

interface BranchSession {
  /** Taken by the branch's first turn on its queue. */
  conn?: PoolConnection;
  state: 'active' | 'prepared' | 'ended';
  /** An abort came: every call not yet finished is refused. */
  aborted: boolean;
  /** The branch's turns on its connection, one after another. */
  queue: Promise<unknown>;
  /** The first turn: XA START. Every call answers its failure. */
  started: Promise<void>;
  timer?: NodeJS.Timeout;
}

export interface XaOptions {
  /** Branch qualifier of every branch of this participant: its database name. */
  bqual: string;
  /** An active (not yet prepared) branch is rolled back after this long. */
  activeTimeoutMs: number;
  /** A prepared branch's connection is closed (the branch detached) after this long. */
  holdTimeoutMs: number;
}

/**
 * The pool of a participant's XA branches (a branch keeps its connection until phase 2). Its
 * connections give up waiting for a row lock after lockWaitTimeoutSeconds, so a branch that
 * meets a row another branch holds is refused fast.
 */
export function createXaPool(db: DbConfig, lockWaitTimeoutSeconds: number, log: Logger): Pool {
  const pool = createPool(db);
  // Queued before any other statement on the new connection.
  pool.pool.on('connection', (conn) => {
    conn.query(
      `SET SESSION innodb_lock_wait_timeout = ${lockWaitTimeoutSeconds}`,
      (err: unknown) => {
        if (err) log.warn({ err }, 'could not shorten the lock wait timeout of an XA connection');
      },
    );
  });
  return pool;
}

export interface InDoubtBranch {
  gid: string;
  bqual: string;
}

export class XaBranches {
  private readonly sessions = new Map<string, BranchSession>();

  constructor(
    private readonly pool: Pool,
    private readonly opts: XaOptions,
    private readonly log: Logger,
  ) {}

  /** Runs body inside the transaction's branch (starting it on first use); prepares when asked. */
  async run<T>(gid: string, prepare: boolean, body: (sql: Sql) => Promise<T>): Promise<T> {
    // Where tests make a call reach its branch late, after the coordinator gave up on it.
    await failpoint('participant.xa.before-start');
    const s = this.sessions.get(gid) ?? this.open(gid);
    if (s.aborted) throw this.rolledBack(gid);
    if (s.state !== 'active') {
      throw new DomainError(
        'BRANCH_REFUSED',
        `branch ${this.opts.bqual} of ${gid} is already prepared`,
      );
    }
    return this.turn(s, async () => {
      await s.started;
      if (s.aborted || s.state !== 'active') throw this.rolledBack(gid);
      try {
        const sql = Session.on(s.conn!);
        const out = await body(sql);
        await failpoint('participant.xa.before-end');
        // An abort that came while the body ran: its writes never leave the branch.
        if (s.aborted) throw this.rolledBack(gid);
        if (prepare) await this.prepare(gid, s, sql);
        else await sql.end([]);
        return out;
      } catch (err) {
        await this.abandon(gid, s);
        throw err;
      }
    });
  }

  /** Phase 2 commit; a branch the server no longer knows is already finished. */
  async commit(gid: string): Promise<void> {
    await failpoint('participant.xa.before-commit');
    // Only a prepared branch has voted: an active one is never committed (nor called done).
    if (this.sessions.get(gid)?.state === 'active')
      throw new DomainError(
        'BRANCH_REFUSED',
        `branch ${this.opts.bqual} of ${gid} is not prepared`,
      );
    await this.finish(gid, 'COMMIT');
  }

  /**
   * Rolls the branch back, whatever state it is in here: waits for a call still running in it
   * (which then fails), and leaves the branch's barrier row so no later call can start it again.
   */
  async rollback(gid: string): Promise<void> {
    await failpoint('participant.xa.before-rollback');
    const s = this.sessions.get(gid);
    if (s && s.state === 'active') {
      s.aborted = true;
      await this.turn(s, () => this.abandon(gid, s));
    } else {
      await this.finish(gid, 'ROLLBACK');
    }
    await this.markRolledBack(gid);
  }

  /** Prepared branches of this participant that no live session of this process holds. */
  async inDoubt(): Promise<InDoubtBranch[]> {
    return (await this.recover()).filter(
      (b) => b.bqual === this.opts.bqual && !this.sessions.has(b.gid),
    );
  }

  /** Every prepared branch with this participant's format id, as XA RECOVER lists them. */
  private async recover(): Promise<InDoubtBranch[]> {
    const [rows] = await this.pool.query('XA RECOVER');
    const out: InDoubtBranch[] = [];
    for (const r of rows as {
      formatID: number;
      gtrid_length: number;
      bqual_length: number;
      data: Buffer | string;
    }[]) {
      if (Number(r.formatID) !== XA_FORMAT_ID) continue;
      // data is gtrid and bqual glued together; split by the lengths.
      const data = Buffer.isBuffer(r.data) ? r.data : Buffer.from(r.data);
      out.push({
        gid: data.subarray(0, r.gtrid_length).toString('utf8'),
        bqual: data.subarray(r.gtrid_length, r.gtrid_length + r.bqual_length).toString('utf8'),
      });
    }
    return out;
  }

  /** Rolls back active branches and closes held connections (their prepared branches stay). */
  async close(): Promise<void> {
    for (const [gid, s] of [...this.sessions]) {
      if (s.state === 'active') {
        s.aborted = true;
        await this.turn(s, () => this.abandon(gid, s)).catch(() => undefined);
      } else {
        clearTimeout(s.timer);
        s.conn?.destroy();
        this.sessions.delete(gid);
      }
    }
  }

  get openBranches(): number {
    return this.sessions.size;
  }

  private xid(gid: string): SqlParam[] {
    return [gid, this.opts.bqual, XA_FORMAT_ID];
  }

  private statement(verb: string, gid: string): Statement {
    return { sql: `${verb} ?, ?, ?`, params: this.xid(gid) };
  }

  /** Runs fn on the branch's connection once every earlier turn is over. */
  private turn<T>(s: BranchSession, fn: () => Promise<T>): Promise<T> {
    const next = s.queue.then(fn);
    s.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * A new session. Its first turn takes a connection, starts the branch and writes the branch's
   * barrier row in one round trip; the row collides with the one a rollback leaves behind.
   */
  private open(gid: string): BranchSession {
    const s: BranchSession = {
      state: 'active',
      aborted: false,
      queue: Promise.resolve(),
      started: Promise.resolve(),
    };
    this.sessions.set(gid, s);
    s.timer = setTimeout(() => void this.expireActive(gid, s), this.opts.activeTimeoutMs);
    s.timer.unref();
    s.started = this.turn(s, () => this.start(gid, s));
    // A failed start is answered to the calls that wait for it, not here.
    s.started.catch(() => undefined);
    return s;
  }

  private async start(gid: string, s: BranchSession): Promise<void> {
    const conn = await this.pool.getConnection().catch(async (err: unknown) => {
      await this.abandon(gid, s);
      throw err;
    });
    try {
      await Session.on(conn).end(
        [
          this.statement('XA START', gid),
          {
            sql: `INSERT INTO tx_barrier (gid, branch_id, op, origin, created_at)
                  VALUES (?, ?, 'action', 'action', ?)`,
            params: [gid, this.opts.bqual, new Date()],
          },
        ],
        true,
      );
      s.conn = conn;
    } catch (err) {
      // The branch started only if its row is what failed: then it is rolled back here.
      if (isDuplicateKey(err)) s.conn = conn;
      else conn.destroy();
      await this.abandon(gid, s);
      if (isDuplicateKey(err)) throw this.rolledBack(gid);
      if ((err as { errno?: number }).errno === XAER_DUPID)
        throw new DomainError(
          'BRANCH_REFUSED',
          `branch ${this.opts.bqual} of ${gid} already exists`,
        );
      throw err;
    }
  }

  private rolledBack(gid: string): DomainError {
    return new DomainError(
      'BRANCH_REFUSED',
      `branch ${this.opts.bqual} of ${gid} was rolled back or has ended`,
    );
  }

  /** Ends and prepares the branch in the round trip that carries the body's held writes. */
  private async prepare(gid: string, s: BranchSession, sql: Session): Promise<void> {
    await failpoint('participant.xa.before-prepare');
    await sql.end([this.statement('XA END', gid), this.statement('XA PREPARE', gid)], true);
    s.state = 'prepared';
    clearTimeout(s.timer);
    s.timer = setTimeout(() => this.detach(gid, s), this.opts.holdTimeoutMs);
    s.timer.unref();
  }

  /** Rolls back a branch that failed, timed out or was aborted before PREPARE. */
  private async abandon(gid: string, s: BranchSession): Promise<void> {
    if (s.state === 'ended') return;
    s.state = 'ended';
    clearTimeout(s.timer);
    if (this.sessions.get(gid) === s) this.sessions.delete(gid);
    const conn = s.conn;
    if (!conn) return;
    try {
      await conn.query('XA END ?, ?, ?', this.xid(gid)).catch(() => undefined);
      await conn.query('XA ROLLBACK ?, ?, ?', this.xid(gid));
      conn.release();
    } catch (err) {
      // A connection in an unknown XA state must never go back to the pool.
      this.log.warn(
        { err, gid },
        'XA rollback of an unprepared branch failed; closing its connection',
      );
      conn.destroy();
    }
  }

  /** The branch's barrier row, written once it is rolled back: later calls of it are refused. */
  private async markRolledBack(gid: string): Promise<void> {
    await this.pool.query(
      `INSERT IGNORE INTO tx_barrier (gid, branch_id, op, origin, created_at)
       VALUES (?, ?, 'action', 'compensate', ?)`,
      [gid, this.opts.bqual, new Date()],
    );
  }

  private async expireActive(gid: string, s: BranchSession): Promise<void> {
    if (this.sessions.get(gid) !== s || s.state !== 'active') return;
    this.log.warn({ gid }, 'XA branch never prepared in time; rolling back');
    await this.rollback(gid).catch((err: unknown) =>
      this.log.warn({ err, gid }, 'rolling back an expired XA branch failed'),
    );
  }

  private detach(gid: string, s: BranchSession): void {
    if (this.sessions.get(gid) !== s || s.state !== 'prepared') return;
    this.log.warn({ gid }, 'no phase 2 within the hold timeout; detaching the prepared branch');
    this.sessions.delete(gid);
    s.state = 'ended';
    s.conn?.destroy();
  }

  private async finish(gid: string, verb: 'COMMIT' | 'ROLLBACK'): Promise<void> {
    const s = this.sessions.get(gid);
    if (s?.state === 'prepared') {
      await this.turn(s, async () => {
        if (s.state !== 'prepared') return;
        clearTimeout(s.timer);
        this.sessions.delete(gid);
        s.state = 'ended';
        try {
          await s.conn!.query(`XA ${verb} ?, ?, ?`, this.xid(gid));
          s.conn!.release();
        } catch (err) {
          s.conn!.destroy();
          throw err;
        }
      });
      return;
    }
    try {
      await this.pool.query(`XA ${verb} ?, ?, ?`, this.xid(gid));
    } catch (err) {
      if ((err as { errno?: number }).errno !== XAER_NOTA) throw err;
      // Unknown here: finished already — unless a live connection elsewhere still holds it.
      if (await this.listed(gid)) {
        throw new DomainError(
          'UNAVAILABLE',
          `branch of ${gid} is still held by another connection`,
        );
      }
    }
  }

  private async listed(gid: string): Promise<boolean> {
    return (await this.recover()).some((b) => b.gid === gid && b.bqual === this.opts.bqual);
  }
}
