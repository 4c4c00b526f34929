// XA branches of one participant database. A branch lives on one dedicated connection from
// START to PREPARE, and stays on it until phase 2: MariaDB lets no other connection finish a
// prepared branch while the one that prepared it is alive. Past the hold timeout the
// connection is closed, which detaches the branch so any connection (phase 2 or the in-doubt
// resolver) can finish it later.
import type { Pool, PoolConnection } from 'mysql2/promise';
import type { DbConfig } from '../config';
import { Session, createPool, type Sql, type SqlParam, type Statement } from '../db';
import { DomainError } from '../errors';
import { failpoint } from '../failpoints';
import type { Logger } from '../log';

export const XA_FORMAT_ID = 0x426f78; // "Box"
const XAER_NOTA = 1397;

interface BranchSession {
  conn: PoolConnection;
  state: 'active' | 'prepared';
  /** Serialises calls of one transaction on its connection. */
  queue: Promise<unknown>;
  timer: NodeJS.Timeout;
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
    let session = this.sessions.get(gid);
    if (!session) session = await this.start(gid);
    else if (session.state !== 'active') {
      throw new DomainError(
        'BRANCH_REFUSED',
        `branch ${this.opts.bqual} of ${gid} is already prepared`,
      );
    }
    const s = session;
    const step = s.queue.then(async () => {
      try {
        const sql = Session.on(s.conn);
        const out = await body(sql);
        if (prepare) await this.prepare(gid, s, sql);
        else await sql.end([]);
        return out;
      } catch (err) {
        await this.abandon(gid, s);
        throw err;
      }
    });
    s.queue = step.catch(() => undefined);
    return step;
  }

  /** Phase 2 commit; a branch the server no longer knows is already finished. */
  async commit(gid: string): Promise<void> {
    failpoint('participant.xa.before-commit');
    await this.finish(gid, 'COMMIT');
  }

  async rollback(gid: string): Promise<void> {
    const s = this.sessions.get(gid);
    if (s?.state === 'active') {
      await this.abandon(gid, s);
      return;
    }
    await this.finish(gid, 'ROLLBACK');
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
      clearTimeout(s.timer);
      if (s.state === 'active') await this.abandon(gid, s);
      else {
        s.conn.destroy();
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

  private async start(gid: string): Promise<BranchSession> {
    const conn = await this.pool.getConnection();
    try {
      await conn.query('XA START ?, ?, ?', this.xid(gid));
    } catch (err) {
      conn.release();
      if ((err as { errno?: number }).errno === 1440) {
        throw new DomainError(
          'BRANCH_REFUSED',
          `branch ${this.opts.bqual} of ${gid} already exists`,
        );
      }
      throw err;
    }
    const session: BranchSession = {
      conn,
      state: 'active',
      queue: Promise.resolve(),
      timer: setTimeout(() => void this.expireActive(gid), this.opts.activeTimeoutMs),
    };
    session.timer.unref();
    this.sessions.set(gid, session);
    return session;
  }

  /** Ends and prepares the branch in the round trip that carries the body's held writes. */
  private async prepare(gid: string, s: BranchSession, sql: Session): Promise<void> {
    failpoint('participant.xa.before-prepare');
    await sql.end([this.statement('XA END', gid), this.statement('XA PREPARE', gid)], true);
    s.state = 'prepared';
    clearTimeout(s.timer);
    s.timer = setTimeout(() => this.detach(gid), this.opts.holdTimeoutMs);
    s.timer.unref();
  }

  /** Rolls back a branch that failed or timed out before PREPARE. */
  private async abandon(gid: string, s: BranchSession): Promise<void> {
    clearTimeout(s.timer);
    this.sessions.delete(gid);
    try {
      await s.conn.query('XA END ?, ?, ?', this.xid(gid)).catch(() => undefined);
      await s.conn.query('XA ROLLBACK ?, ?, ?', this.xid(gid));
      s.conn.release();
    } catch (err) {
      // A connection in an unknown XA state must never go back to the pool.
      this.log.warn(
        { err, gid },
        'XA rollback of an unprepared branch failed; closing its connection',
      );
      s.conn.destroy();
    }
  }

  private async expireActive(gid: string): Promise<void> {
    const s = this.sessions.get(gid);
    if (!s || s.state !== 'active') return;
    this.log.warn({ gid }, 'XA branch never prepared in time; rolling back');
    await s.queue;
    if (this.sessions.get(gid) === s) await this.abandon(gid, s);
  }

  private detach(gid: string): void {
    const s = this.sessions.get(gid);
    if (!s || s.state !== 'prepared') return;
    this.log.warn({ gid }, 'no phase 2 within the hold timeout; detaching the prepared branch');
    this.sessions.delete(gid);
    s.conn.destroy();
  }

  private async finish(gid: string, verb: 'COMMIT' | 'ROLLBACK'): Promise<void> {
    const s = this.sessions.get(gid);
    if (s?.state === 'prepared') {
      await s.queue;
      clearTimeout(s.timer);
      this.sessions.delete(gid);
      try {
        await s.conn.query(`XA ${verb} ?, ?, ?`, this.xid(gid));
        s.conn.release();
      } catch (err) {
        s.conn.destroy();
        throw err;
      }
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
