// The auditor: checks the invariants that must hold across every service database once the
// mesh is quiet. Used by the test suites, `make chaos`, and operators (`node dist/cmd/audit.js`).
import amqp from 'amqplib';
import type mysql from 'mysql2/promise';
import { DB_SERVICES, type Config, type DbConfig, type DbServiceName } from '../lib/config';
import { serverConnection } from '../lib/db';
import { parkedQueue } from '../lib/events/consumer';
import { RANKING_QUEUE } from '../services/concert/events';
import { DELIVERIES_QUEUE } from '../services/dataplatform/main';
import { END_TOKEN_QUEUE } from '../services/queue/events';
import { preparedBranches } from './isolation';

export interface Check {
  name: string;
  ok: boolean;
  /** How many offending rows there are. */
  count: number;
  /** Offending rows, the first few, when not ok. */
  details: string[];
  /**
   * Why the check did not run: its databases live on different servers, and it joins them
   * (ok is then true: nothing was found, because nothing was looked at).
   */
  skipped?: string;
}

export interface AuditOptions {
  /**
   * The event pipeline's checks: every outbox drained, every completed reservation delivered to
   * the data platform exactly once and nothing else delivered. Needs the dataplatform database.
   */
  events?: boolean;
  /** Base URL of the data-platform mock (the origin of DATAPLATFORM_URL): check what it accepted. */
  mockUrl?: string;
  /** Check that no consumer queue has parked messages on this broker (an AMQP URL). */
  amqpUrl?: string;
  /**
   * The mesh is live, not quiet: a transaction open, a branch prepared or a reservation PAYING
   * is an offender only once past its interval — its deadline (a reservation: the time to live
   * since it began paying) plus `graceMs`, the time phase 2 or compensations may still take.
   */
  live?: { ttlMs: number; graceMs: number };
}

/** Every consumer queue of the mesh; each parks what keeps failing in `<queue>.parked`. */
export const CONSUMER_QUEUES = [END_TOKEN_QUEUE, RANKING_QUEUE, DELIVERIES_QUEUE];

const MAX_DETAILS = 50;

type Conn = mysql.Connection;
type Db = DbServiceName;
/** Each service database's name, quoted for SQL. */
type Names = Record<Db, string>;

async function rows<T>(conn: Conn, sql: string, params: unknown[] = []): Promise<T[]> {
  const [r] = await conn.query(sql, params);
  return r as T[];
}

function check(name: string, offenders: unknown[]): Check {
  return {
    name,
    ok: offenders.length === 0,
    count: offenders.length,
    details: offenders.slice(0, MAX_DETAILS).map((o) => JSON.stringify(o)),
  };
}

const serverOf = (d: DbConfig) => `${d.host}:${d.port}`;

/**
 * One connection per database server, opened on first use with the credentials of the first
 * database asked for on it. A check that joins databases runs on their server; where they live
 * on different servers (one server per database, as on Kubernetes) it cannot, and says so.
 */
class Servers {
  private readonly conns = new Map<string, Promise<Conn>>();

  constructor(private readonly db: Config['db']) {}

  /** The connection reaching every one of `dbs`, or undefined when they are on several servers. */
  async on(dbs: readonly Db[]): Promise<Conn | undefined> {
    const servers = new Set(dbs.map((d) => serverOf(this.db[d])));
    if (servers.size !== 1) return undefined;
    const key = serverOf(this.db[dbs[0]]);
    let conn = this.conns.get(key);
    if (!conn) {
      conn = serverConnection(this.db[dbs[0]], { dateStrings: true });
      this.conns.set(key, conn);
    }
    return conn;
  }

  /** The given databases grouped by the server they live on. */
  byServer(dbs: readonly Db[]): Db[][] {
    const groups = new Map<string, Db[]>();
    for (const d of dbs) {
      const key = serverOf(this.db[d]);
      groups.set(key, [...(groups.get(key) ?? []), d]);
    }
    return [...groups.values()];
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.conns.values()].map(async (c) => (await c.catch(() => undefined))?.end()),
    );
  }
}

/** A check over `dbs`, run where they all are; skipped, naming them, where they are not. */
async function checkOn(
  servers: Servers,
  name: string,
  dbs: readonly Db[],
  offenders: (conn: Conn) => Promise<unknown[]>,
): Promise<Check> {
  const conn = await servers.on(dbs);
  if (!conn)
    return {
      name,
      ok: true,
      count: 0,
      details: [],
      skipped: `joins ${dbs.join(', ')}, which live on different servers here`,
    };
  return check(name, await offenders(conn));
}

const PARTICIPANT_DBS: readonly Db[] = ['concert', 'reservation', 'payment', 'point'];

/**
 * Runs every check. The core checks always run; `opts` adds the event pipeline, the mock's
 * record and the broker's parked queues. Each check reads its databases through one connection
 * to their server: every deployment the tests and `make chaos` run has one server, and there
 * every check runs; with a server per database the checks that join two are skipped.
 */
export async function audit(config: Config, opts: AuditOptions = {}): Promise<Check[]> {
  const db = config.db;
  const servers = new Servers(db);
  const q = Object.fromEntries(DB_SERVICES.map((d) => [d, `\`${db[d].database}\``])) as Names;
  const { concert: c, reservation: r, payment: pay, point: pt, coordinator: co } = q;
  // Live: what is past its interval only (a transaction's deadline is TTL after it began).
  const cutoff = opts.live ? new Date(Date.now() - opts.live.graceMs) : undefined;
  const payingSince = opts.live ? new Date(cutoff!.getTime() - opts.live.ttlMs) : undefined;
  try {
    const checks: Check[] = [];
    const add = async (name: string, dbs: Db[], sql: string, params: unknown[] = []) =>
      checks.push(await checkOn(servers, name, dbs, (conn) => rows(conn, sql, params)));
    await add(
      'every SOLD seat has exactly one CONFIRMED reservation and one PAID payment',
      ['concert', 'reservation', 'payment'],
      `SELECT s.schedule_id, s.seat_number, s.held_by,
         (SELECT COUNT(*) FROM ${r}.reservation x WHERE x.schedule_id = s.schedule_id AND x.seat_number = s.seat_number AND x.status = 'CONFIRMED') AS confirmed,
         (SELECT COUNT(*) FROM ${pay}.payment p WHERE p.reservation_id = s.held_by AND p.status = 'PAID') AS paid
       FROM ${c}.seat s WHERE s.status = 'SOLD' HAVING confirmed <> 1 OR paid <> 1`,
    );
    await add(
      'no seat is held or sold by two live reservations',
      ['reservation'],
      `SELECT schedule_id, seat_number, COUNT(*) AS live FROM ${r}.reservation
       WHERE status IN ('HELD','PAYING','CONFIRMED') GROUP BY schedule_id, seat_number HAVING live > 1`,
    );
    await add(
      'every live reservation owns its seat',
      ['reservation', 'concert'],
      `SELECT x.id, x.status, s.status AS seat_status, s.held_by FROM ${r}.reservation x
       JOIN ${c}.seat s ON s.schedule_id = x.schedule_id AND s.seat_number = x.seat_number
       WHERE x.status IN ('HELD','PAYING','CONFIRMED') AND (s.held_by IS NULL OR s.held_by <> x.id)`,
    );
    await add(
      'every taken seat is taken by a live reservation (no leaked hold)',
      ['concert', 'reservation'],
      `SELECT s.schedule_id, s.seat_number, s.status, s.held_by, x.status AS reservation_status
       FROM ${c}.seat s LEFT JOIN ${r}.reservation x ON x.id = s.held_by
       WHERE (s.status = 'HELD' AND (x.status IS NULL OR x.status NOT IN ('HELD','PAYING')))
          OR (s.status = 'SOLD' AND (x.status IS NULL OR x.status <> 'CONFIRMED'))`,
    );
    await add(
      opts.live ? 'no reservation is PAYING past its interval' : 'no reservation is left PAYING',
      ['reservation'],
      `SELECT id, payment_id, updated_at FROM ${r}.reservation WHERE status = 'PAYING'
       ${payingSince ? 'AND updated_at < ?' : ''}`,
      payingSince ? [payingSince] : [],
    );
    await add(
      "every user's balance equals the ledger",
      ['point'],
      `SELECT w.user_id, w.balance, COALESCE(SUM(CASE l.type WHEN 'USE' THEN -l.amount ELSE l.amount END), 0) AS ledger
       FROM ${pt}.wallet w LEFT JOIN ${pt}.point_ledger l ON l.user_id = w.user_id
       GROUP BY w.user_id, w.balance HAVING ledger <> w.balance`,
    );
    await add(
      "every user's uses minus refunds equal their paid payments",
      ['point', 'payment'],
      `SELECT u.user_id, u.spent, COALESCE(p.paid, 0) AS paid FROM
         (SELECT user_id, SUM(CASE type WHEN 'USE' THEN amount WHEN 'REFUND' THEN -amount ELSE 0 END) AS spent
          FROM ${pt}.point_ledger GROUP BY user_id) u
       LEFT JOIN (SELECT user_id, SUM(amount) AS paid FROM ${pay}.payment WHERE status = 'PAID' GROUP BY user_id) p
         ON p.user_id = u.user_id
       WHERE u.spent <> COALESCE(p.paid, 0)`,
    );
    await add(
      opts.live
        ? 'no global transaction is open past its deadline'
        : 'no global transaction is left open',
      ['coordinator'],
      `SELECT gid, flow, mode, state, last_error FROM ${co}.global_tx WHERE state NOT IN ('COMMITTED','ABORTED')
       ${cutoff ? 'AND deadline_at < ?' : ''}`,
      cutoff ? [cutoff] : [],
    );
    checks.push(await preparedCheck(servers, config, cutoff, co));
    if (opts.events) checks.push(...(await eventChecks(servers, config, q)));
    if (opts.mockUrl) checks.push(await mockCheck(servers, opts.mockUrl, q));
    if (opts.amqpUrl) checks.push(await parkedCheck(opts.amqpUrl));
    return checks;
  } finally {
    await servers.close();
  }
}

/**
 * The participants' XA branches still prepared, on each of their servers; live, only those whose
 * transaction is not open within its deadline (those wait for phase 2).
 */
async function preparedCheck(
  servers: Servers,
  config: Config,
  cutoff: Date | undefined,
  co: string,
): Promise<Check> {
  let prepared: { gid: string; bqual: string }[] = [];
  // A branch's bqual is its participant's database: each server is asked about its own ones.
  for (const group of servers.byServer(PARTICIPANT_DBS)) {
    const names = new Set(group.map((d) => config.db[d].database));
    const conn = (await servers.on(group))!;
    prepared.push(
      ...(await preparedBranches(conn))
        .filter((x) => names.has(x.bqual))
        .map(({ gid, bqual }) => ({ gid, bqual })),
    );
  }
  if (cutoff) {
    const conn = (await servers.on(['coordinator']))!;
    const waiting = new Set(
      (
        await rows<{ gid: string }>(
          conn,
          `SELECT gid FROM ${co}.global_tx WHERE state NOT IN ('COMMITTED','ABORTED') AND deadline_at >= ?`,
          [cutoff],
        )
      ).map((x) => x.gid),
    );
    prepared = prepared.filter((x) => !waiting.has(x.gid));
  }
  return check(
    cutoff ? 'no XA branch is prepared past its interval' : 'no XA branch is left prepared',
    prepared,
  );
}

/**
 * The reservations that completed: CONFIRMED, or CANCELLED by a refund of their payment (a
 * refund comes after the completion, which stays delivered). Columns: id, status.
 */
const completed = (q: Names) =>
  `SELECT x.id, x.status FROM ${q.reservation}.reservation x WHERE x.status = 'CONFIRMED'
   UNION ALL
   SELECT x.id, x.status FROM ${q.reservation}.reservation x JOIN ${q.payment}.payment p ON p.id = x.payment_id
   WHERE x.status = 'CANCELLED' AND p.status = 'REFUNDED'`;

async function eventChecks(servers: Servers, config: Config, q: Names): Promise<Check[]> {
  const unsent: unknown[] = [];
  for (const d of PARTICIPANT_DBS) {
    const conn = (await servers.on([d]))!;
    const [row] = await rows<{ unsent: number; oldest: string | null }>(
      conn,
      `SELECT COUNT(*) AS unsent, MIN(occurred_at) AS oldest FROM ${q[d]}.outbox WHERE sent_at IS NULL`,
    );
    if (Number(row.unsent) > 0) unsent.push({ database: config.db[d].database, ...row });
  }
  const deliveryDbs: Db[] = ['dataplatform', 'reservation', 'payment'];
  return [
    check("every participant's outbox is drained", unsent),
    await checkOn(
      servers,
      'every completed reservation reached the data platform exactly once',
      deliveryDbs,
      (conn) =>
        rows(
          conn,
          `SELECT k.id AS reservation_id, k.status,
             (SELECT COUNT(*) FROM ${q.dataplatform}.delivery d WHERE d.reservation_id = k.id AND d.delivered_at IS NOT NULL) AS delivered
           FROM (${completed(q)}) k HAVING delivered <> 1`,
        ),
    ),
    await checkOn(
      servers,
      'nothing reached the data platform for a reservation that never completed',
      deliveryDbs,
      (conn) =>
        rows(
          conn,
          `SELECT d.event_id, d.reservation_id, x.status AS reservation_status,
             (SELECT GROUP_CONCAT(p.status) FROM ${q.payment}.payment p WHERE p.reservation_id = d.reservation_id) AS payments
           FROM ${q.dataplatform}.delivery d LEFT JOIN ${q.reservation}.reservation x ON x.id = d.reservation_id
           WHERE d.delivered_at IS NOT NULL
             AND d.reservation_id NOT IN (SELECT k.id FROM (${completed(q)}) k)`,
        ),
    ),
  ];
}

interface MockDelivery {
  eventId: string;
  accepted: number;
  body: { reservationId?: unknown };
}

/** What the mock accepted: each completed reservation under exactly one eventId, nothing else. */
async function mockCheck(servers: Servers, mockUrl: string, q: Names): Promise<Check> {
  const name =
    'the data platform accepted each completed reservation under exactly one eventId, and nothing else';
  return checkOn(servers, name, ['dataplatform', 'reservation', 'payment'], (conn) =>
    mockOffenders(conn, mockUrl, q),
  );
}

/** What the mock accepted against what completed and what the dataplatform service recorded. */
async function mockOffenders(conn: Conn, mockUrl: string, q: Names): Promise<unknown[]> {
  const url = new URL('/deliveries', mockUrl);
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) }).catch((err: Error) => {
    throw new Error(`cannot read the mock's deliveries at ${url.href}: ${err.message}`);
  });
  if (res.status !== 200) throw new Error(`GET ${url.href} answered ${res.status}`);
  const { deliveries } = (await res.json()) as { deliveries: MockDelivery[] };
  const accepted = new Map<string, string[]>();
  for (const d of deliveries) {
    if (d.accepted < 1) continue;
    const id = String(d.body.reservationId);
    accepted.set(id, [...(accepted.get(id) ?? []), d.eventId]);
  }
  const done = await rows<{ id: string; status: string }>(conn, completed(q));
  const recorded = new Map(
    (
      await rows<{ reservation_id: string; event_id: string }>(
        conn,
        `SELECT reservation_id, event_id FROM ${q.dataplatform}.delivery WHERE delivered_at IS NOT NULL`,
      )
    ).map((x) => [x.reservation_id, x.event_id]),
  );
  const offenders: unknown[] = [];
  for (const { id, status } of done) {
    const eventIds = accepted.get(id) ?? [];
    const mine = recorded.get(id);
    if (eventIds.length !== 1 || (mine !== undefined && eventIds[0] !== mine))
      offenders.push({ reservationId: id, status, acceptedEventIds: eventIds, recorded: mine });
    accepted.delete(id);
  }
  for (const [id, eventIds] of accepted)
    offenders.push({ reservationId: id, status: 'not completed', acceptedEventIds: eventIds });
  return offenders;
}

/** Depth of every consumer's parked queue (a queue that was never declared holds nothing). */
async function parkedCheck(amqpUrl: string): Promise<Check> {
  const connection = await amqp.connect(amqpUrl);
  const offenders: unknown[] = [];
  try {
    for (const queue of CONSUMER_QUEUES) {
      const ch = await connection.createChannel();
      // A missing queue closes the channel with 404: that is "nothing parked".
      ch.on('error', () => undefined);
      try {
        const { messageCount } = await ch.checkQueue(parkedQueue(queue));
        if (messageCount > 0) offenders.push({ queue: parkedQueue(queue), messages: messageCount });
      } catch (err) {
        if (!/NOT_FOUND|404/.test(err instanceof Error ? err.message : String(err))) throw err;
      } finally {
        await ch.close().catch(() => undefined);
      }
    }
  } finally {
    await connection.close().catch(() => undefined);
  }
  return check('no message is parked in a dead-letter queue', offenders);
}

export function report(checks: Check[], shown = 5): string {
  return checks
    .map((c) => {
      if (c.skipped) return `skip ${c.name} (${c.skipped})`;
      if (c.ok) return `ok   ${c.name}`;
      const more = c.count > shown ? [`… ${c.count - shown} more (${c.count} in all)`] : [];
      return `FAIL ${c.name}\n       ${[...c.details.slice(0, shown), ...more].join('\n       ')}`;
    })
    .join('\n');
}
