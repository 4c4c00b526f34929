// The auditor: checks the invariants that must hold across every service database once the
// mesh is quiet. Used by the test suites, `make chaos`, and operators (`node dist/cmd/audit.js`).
import mysql from 'mysql2/promise';
import type { Config } from '../lib/config';

export interface Check {
  name: string;
  ok: boolean;
  /** Offending rows, at most a few, when not ok. */
  details: string[];
}

type Conn = mysql.Connection;

async function rows<T>(conn: Conn, sql: string, params: unknown[] = []): Promise<T[]> {
  const [r] = await conn.query(sql, params);
  return r as T[];
}

function check(name: string, offenders: unknown[]): Check {
  return {
    name,
    ok: offenders.length === 0,
    details: offenders.slice(0, 5).map((o) => JSON.stringify(o)),
  };
}

/** Runs every check; each database is read with a plain connection to the service's server. */
export async function audit(config: Config): Promise<Check[]> {
  const db = config.db;
  const conn = await mysql.createConnection({
    host: db.concert.host,
    port: db.concert.port,
    user: db.concert.user,
    password: db.concert.password,
    supportBigNumbers: true,
    dateStrings: true,
  });
  const [c, r, pay, pt, co] = [
    db.concert,
    db.reservation,
    db.payment,
    db.point,
    db.coordinator,
  ].map((d) => `\`${d.database}\``);
  try {
    const checks: Check[] = [];
    checks.push(
      check(
        'every SOLD seat has exactly one CONFIRMED reservation and one PAID payment',
        await rows(
          conn,
          `SELECT s.schedule_id, s.seat_number, s.held_by,
             (SELECT COUNT(*) FROM ${r}.reservation x WHERE x.schedule_id = s.schedule_id AND x.seat_number = s.seat_number AND x.status = 'CONFIRMED') AS confirmed,
             (SELECT COUNT(*) FROM ${pay}.payment p WHERE p.reservation_id = s.held_by AND p.status = 'PAID') AS paid
           FROM ${c}.seat s WHERE s.status = 'SOLD' HAVING confirmed <> 1 OR paid <> 1`,
        ),
      ),
    );
    checks.push(
      check(
        'no seat is held or sold by two live reservations',
        await rows(
          conn,
          `SELECT schedule_id, seat_number, COUNT(*) AS live FROM ${r}.reservation
           WHERE status IN ('HELD','PAYING','CONFIRMED') GROUP BY schedule_id, seat_number HAVING live > 1`,
        ),
      ),
    );
    checks.push(
      check(
        'every live reservation owns its seat',
        await rows(
          conn,
          `SELECT x.id, x.status, s.status AS seat_status, s.held_by FROM ${r}.reservation x
           JOIN ${c}.seat s ON s.schedule_id = x.schedule_id AND s.seat_number = x.seat_number
           WHERE x.status IN ('HELD','PAYING','CONFIRMED') AND (s.held_by IS NULL OR s.held_by <> x.id)`,
        ),
      ),
    );
    checks.push(
      check(
        "every user's balance equals the ledger",
        await rows(
          conn,
          `SELECT w.user_id, w.balance, COALESCE(SUM(CASE l.type WHEN 'USE' THEN -l.amount ELSE l.amount END), 0) AS ledger
           FROM ${pt}.wallet w LEFT JOIN ${pt}.point_ledger l ON l.user_id = w.user_id
           GROUP BY w.user_id, w.balance HAVING ledger <> w.balance`,
        ),
      ),
    );
    checks.push(
      check(
        "every user's uses minus refunds equal their paid payments",
        await rows(
          conn,
          `SELECT u.user_id, u.spent, COALESCE(p.paid, 0) AS paid FROM
             (SELECT user_id, SUM(CASE type WHEN 'USE' THEN amount WHEN 'REFUND' THEN -amount ELSE 0 END) AS spent
              FROM ${pt}.point_ledger GROUP BY user_id) u
           LEFT JOIN (SELECT user_id, SUM(amount) AS paid FROM ${pay}.payment WHERE status = 'PAID' GROUP BY user_id) p
             ON p.user_id = u.user_id
           WHERE u.spent <> COALESCE(p.paid, 0)`,
        ),
      ),
    );
    checks.push(
      check(
        'no global transaction is left open',
        await rows(
          conn,
          `SELECT gid, flow, mode, state, last_error FROM ${co}.global_tx WHERE state NOT IN ('COMMITTED','ABORTED')`,
        ),
      ),
    );
    const names = new Set(
      [db.concert, db.reservation, db.payment, db.point].map((d) => d.database),
    );
    const prepared = (
      await rows<{ formatID: number; gtrid_length: number; bqual_length: number; data: Buffer }>(
        conn,
        'XA RECOVER',
      )
    )
      .map((x) => {
        const data = Buffer.from(x.data);
        return {
          gid: data.subarray(0, x.gtrid_length).toString(),
          bqual: data.subarray(x.gtrid_length, x.gtrid_length + x.bqual_length).toString(),
        };
      })
      .filter((x) => names.has(x.bqual));
    checks.push(check('no XA branch is left prepared', prepared));
    return checks;
  } finally {
    await conn.end();
  }
}

export function report(checks: Check[]): string {
  return checks
    .map(
      (c) =>
        `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}${c.ok ? '' : `\n       ${c.details.join('\n       ')}`}`,
    )
    .join('\n');
}
