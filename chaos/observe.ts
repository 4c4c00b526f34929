// Read-only looks into a chaos run's databases: what is in flight when a fault strikes, when
// the mesh has gone quiet, and whether what clients were told still holds.
import mysql from 'mysql2/promise';
import type { Config } from '../lib/config';
import { preparedBranches } from '../ops/isolation';
import type { Check } from '../ops/audit';
import type { ClientRecord } from './load';

export interface Quiet {
  openTx: number;
  unsentEvents: number;
  prepared: number;
  /** Holds not expired yet and payments in progress: each still starts or is a transaction. */
  liveHolds: number;
}

export const isQuiet = (q: Quiet) =>
  q.openTx === 0 && q.unsentEvents === 0 && q.prepared === 0 && q.liveHolds === 0;

export class Observer {
  private readonly pool: mysql.Pool;
  private readonly t: Record<'c' | 'r' | 'pay' | 'pt' | 'co', string>;
  private readonly bquals: Set<string>;

  constructor(config: Config) {
    const db = config.db;
    this.pool = mysql.createPool({
      host: db.coordinator.host,
      port: db.coordinator.port,
      user: db.coordinator.user,
      password: db.coordinator.password,
      connectionLimit: 2,
      dateStrings: true,
    });
    this.t = {
      c: `\`${db.concert.database}\``,
      r: `\`${db.reservation.database}\``,
      pay: `\`${db.payment.database}\``,
      pt: `\`${db.point.database}\``,
      co: `\`${db.coordinator.database}\``,
    };
    this.bquals = new Set(
      [db.concert, db.reservation, db.payment, db.point].map((d) => d.database),
    );
  }

  private async rows<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    const [r] = await this.pool.query(sql, params);
    return r as T[];
  }

  /** Open global transactions by flow and state, and prepared branches: "pay/RUNNING=2 xa-prepared=3". */
  async inFlight(): Promise<string> {
    const open = await this.rows<{ flow: string; state: string; n: number }>(
      `SELECT flow, state, COUNT(*) AS n FROM ${this.t.co}.global_tx
       WHERE state NOT IN ('COMMITTED','ABORTED') GROUP BY flow, state ORDER BY flow, state`,
    );
    const prepared = await this.prepared();
    const parts = open.map((o) => `${o.flow}/${o.state}=${o.n}`);
    if (prepared > 0) parts.push(`xa-prepared=${prepared}`);
    return parts.join(' ');
  }

  private async prepared(): Promise<number> {
    const conn = await this.pool.getConnection();
    try {
      return (await preparedBranches(conn)).filter((b) => this.bquals.has(b.bqual)).length;
    } finally {
      conn.release();
    }
  }

  async quiet(): Promise<Quiet> {
    const [tx] = await this.rows<{ n: number }>(
      `SELECT COUNT(*) AS n FROM ${this.t.co}.global_tx WHERE state NOT IN ('COMMITTED','ABORTED')`,
    );
    let unsent = 0;
    for (const db of [this.t.c, this.t.r, this.t.pay, this.t.pt]) {
      const [o] = await this.rows<{ n: number }>(
        `SELECT COUNT(*) AS n FROM ${db}.outbox WHERE sent_at IS NULL`,
      );
      unsent += Number(o.n);
    }
    const [holds] = await this.rows<{ n: number }>(
      `SELECT COUNT(*) AS n FROM ${this.t.r}.reservation WHERE status IN ('HELD','PAYING')`,
    );
    return {
      openTx: Number(tx.n),
      unsentEvents: unsent,
      prepared: await this.prepared(),
      liveHolds: Number(holds.n),
    };
  }

  /**
   * The client's view against the databases: a payment answered 201 (and not refunded by the
   * load) is PAID with its reservation CONFIRMED; a refund answered 200 is REFUNDED.
   */
  async clientView(record: ClientRecord): Promise<Check> {
    const offenders: unknown[] = [];
    const look = async (ids: Set<string>, want: string, reservation: string) => {
      if (ids.size === 0) return;
      const found = await this.rows<{ id: string; status: string; r: string | null }>(
        `SELECT p.id, p.status, x.status AS r FROM ${this.t.pay}.payment p
         LEFT JOIN ${this.t.r}.reservation x ON x.id = p.reservation_id WHERE p.id IN (?)`,
        [[...ids]],
      );
      const byId = new Map(found.map((f) => [f.id, f]));
      for (const id of ids) {
        const f = byId.get(id);
        if (!f || f.status !== want || f.r !== reservation)
          offenders.push({
            paymentId: id,
            told: want,
            payment: f?.status ?? 'missing',
            reservation: f?.r ?? null,
          });
      }
    };
    await look(record.paid, 'PAID', 'CONFIRMED');
    await look(record.refunded, 'REFUNDED', 'CANCELLED');
    offenders.push(...record.anomalies.map((anomaly) => ({ anomaly })));
    return {
      name: 'what clients were told holds (paid stays PAID + CONFIRMED, refunded is REFUNDED, no poor user paid)',
      ok: offenders.length === 0,
      count: offenders.length,
      details: offenders.slice(0, 50).map((o) => JSON.stringify(o)),
    };
  }

  /**
   * What the databases say about some reservations, for a failed check's report: the global
   * transactions that name them, their payments and their events.
   */
  async evidence(reservationIds: string[]): Promise<string[]> {
    const out: string[] = [];
    for (const id of reservationIds) {
      const [r] = await this.rows<Record<string, unknown>>(
        `SELECT status, payment_id, created_at, updated_at, expires_at FROM ${this.t.r}.reservation WHERE id = ?`,
        [id],
      );
      out.push(`reservation ${id}: ${JSON.stringify(r ?? 'missing')}`);
      const txs = await this.rows<Record<string, unknown>>(
        `SELECT gid, flow, state, JSON_UNQUOTE(JSON_EXTRACT(outcome, '$.reason')) AS refusal,
           created_at, deadline_at, updated_at, attempts, last_error
         FROM ${this.t.co}.global_tx
         WHERE JSON_UNQUOTE(JSON_EXTRACT(payload, '$.reservationId')) = ?
            OR JSON_UNQUOTE(JSON_EXTRACT(payload, '$.paymentId')) IN
               (SELECT id FROM ${this.t.pay}.payment WHERE reservation_id = ?)
         ORDER BY created_at`,
        [id, id],
      );
      for (const tx of txs) out.push(`  tx ${JSON.stringify(tx)}`);
      const payments = await this.rows<Record<string, unknown>>(
        `SELECT id, status, paid_at, updated_at FROM ${this.t.pay}.payment WHERE reservation_id = ?`,
        [id],
      );
      for (const p of payments) out.push(`  payment ${JSON.stringify(p)}`);
      const events = await this.rows<Record<string, unknown>>(
        `SELECT event_id, type, occurred_at, sent_at FROM ${this.t.r}.outbox WHERE aggregate_id = ? ORDER BY id`,
        [id],
      );
      for (const e of events) out.push(`  event ${JSON.stringify(e)}`);
    }
    return out;
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
