// Reservation rows. Every transition is ONE conditional UPDATE on the state it expects (the
// semantic lock), and its affected-row count is the answer: never read-then-write. Each sets
// a new status (and updated_at), so a matched row is always a changed row, even though mysql2
// reports matched rows. A transition the caller answers from also reads the row back in the
// same round trip: the row as changed, or as it is when nothing changed (to say why).
// Statements take the Sql of the branch they run in; rows come back as plain objects.
import type { Sql, SqlParam } from '../../../lib/db';
import type { HoldInput, ReservationStatusName } from '../domain/reservation';

export interface ReservationRecord {
  id: string;
  userId: string;
  concertId: string;
  scheduleId: string;
  date: string;
  seatNumber: number;
  seatId: string;
  price: number;
  status: ReservationStatusName;
  paymentId: string | null;
  expiresAt: Date;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewHold extends HoldInput {
  expiresAt: Date;
  createdAt: Date;
}

interface ReservationRow {
  id: string;
  user_id: string;
  concert_id: string;
  schedule_id: string;
  date: string;
  seat_number: number;
  seat_id: string;
  price: number | string;
  status: ReservationStatusName;
  payment_id: string | null;
  expires_at: Date;
  created_at: Date;
  updated_at: Date;
}

/** Overdue holds for the sweeper, oldest first: one range of the (status, expires_at) index. */
export const OVERDUE_HOLDS_SQL = `SELECT id FROM reservation
  WHERE status = 'HELD' AND expires_at <= ?
  ORDER BY expires_at
  LIMIT ?`;

const changed = (res: { affectedRows: number }) => res.affectedRows === 1;

/** A transition, and the row after it (undefined when there is no such reservation). */
export interface Transition {
  changed: boolean;
  row: ReservationRecord | undefined;
}

const SELECT_BY_ID = `SELECT id, user_id, concert_id, schedule_id, date, seat_number, seat_id, price,
     status, payment_id, expires_at, created_at, updated_at
   FROM reservation WHERE id = ?`;

async function transition(
  sql: Sql,
  update: string,
  params: SqlParam[],
  id: string,
): Promise<Transition> {
  const { changed, rows } = await sql.changeAndRead<ReservationRow>(
    { sql: update, params },
    { sql: SELECT_BY_ID, params: [id] },
  );
  return { changed: changed === 1, row: rows[0] && toRecord(rows[0]) };
}

export async function insertHold(sql: Sql, hold: NewHold): Promise<void> {
  await sql.execute(
    `INSERT INTO reservation (id, user_id, concert_id, schedule_id, date, seat_number, seat_id,
       price, status, payment_id, expires_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'HELD', NULL, ?, ?, ?)`,
    [
      hold.reservationId,
      hold.userId,
      hold.concertId,
      hold.scheduleId,
      hold.date,
      hold.seatNumber,
      hold.seatId,
      hold.price,
      hold.expiresAt,
      hold.createdAt,
      hold.createdAt,
    ],
  );
}

export async function findReservation(
  sql: Sql,
  id: string,
): Promise<ReservationRecord | undefined> {
  const [row] = await sql.query<ReservationRow>(SELECT_BY_ID, [id]);
  return row && toRecord(row);
}

/** HELD → CANCELLED: a hold whose Reserve flow was undone. */
export async function cancelHold(sql: Sql, id: string, now: Date): Promise<boolean> {
  const res = await sql.execute(
    `UPDATE reservation SET status = 'CANCELLED', updated_at = ?
     WHERE id = ? AND status = 'HELD'`,
    [now, id],
  );
  return changed(res);
}

/** HELD (the payer's, still payable at `now`) → PAYING under this payment. */
export async function beginPayment(
  sql: Sql,
  id: string,
  userId: string,
  paymentId: string,
  now: Date,
): Promise<Transition> {
  return transition(
    sql,
    `UPDATE reservation SET status = 'PAYING', payment_id = ?, updated_at = ?
     WHERE id = ? AND user_id = ? AND status = 'HELD' AND expires_at > ?`,
    [paymentId, now, id, userId, now],
    id,
  );
}

/** PAYING under this payment → HELD again: the payment was undone. */
export async function resumeHold(
  sql: Sql,
  id: string,
  paymentId: string,
  now: Date,
): Promise<boolean> {
  const res = await sql.execute(
    `UPDATE reservation SET status = 'HELD', payment_id = NULL, updated_at = ?
     WHERE id = ? AND status = 'PAYING' AND payment_id = ?`,
    [now, id, paymentId],
  );
  return changed(res);
}

/** PAYING under this payment → CONFIRMED. */
export async function confirm(
  sql: Sql,
  id: string,
  paymentId: string,
  now: Date,
): Promise<Transition> {
  return transition(
    sql,
    `UPDATE reservation SET status = 'CONFIRMED', updated_at = ?
     WHERE id = ? AND status = 'PAYING' AND payment_id = ?`,
    [now, id, paymentId],
    id,
  );
}

/** HELD and overdue at `now` → EXPIRED. A PAYING reservation is never expired. */
export async function expire(sql: Sql, id: string, now: Date): Promise<Transition> {
  return transition(
    sql,
    `UPDATE reservation SET status = 'EXPIRED', updated_at = ?
     WHERE id = ? AND status = 'HELD' AND expires_at <= ?`,
    [now, id, now],
    id,
  );
}

/** CONFIRMED under this payment → CANCELLED: the payment was refunded. */
export async function cancelPaid(
  sql: Sql,
  id: string,
  paymentId: string,
  now: Date,
): Promise<Transition> {
  return transition(
    sql,
    `UPDATE reservation SET status = 'CANCELLED', updated_at = ?
     WHERE id = ? AND status = 'CONFIRMED' AND payment_id = ?`,
    [now, id, paymentId],
    id,
  );
}

/** Ids of holds overdue at `now`, oldest first, at most `limit`. */
export async function overdueHolds(sql: Sql, now: Date, limit: number): Promise<string[]> {
  const rows = await sql.query<{ id: string }>(OVERDUE_HOLDS_SQL, [now, limit]);
  return rows.map((r) => r.id);
}

function toRecord(r: ReservationRow): ReservationRecord {
  return {
    id: r.id,
    userId: r.user_id,
    concertId: r.concert_id,
    scheduleId: r.schedule_id,
    date: r.date,
    seatNumber: r.seat_number,
    seatId: r.seat_id,
    price: Number(r.price),
    status: r.status,
    paymentId: r.payment_id,
    expiresAt: r.expires_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** A live hold as operators watch it. */
export interface LiveHold {
  reservationId: string;
  seatNumber: number;
  userId: string;
  status: 'HELD' | 'PAYING';
  expiresAt: Date;
}

/**
 * The live holds of one schedule by seat: the (status, expires_at) index ranges over live holds
 * only, which expire within minutes, so they stay few whatever the table holds.
 */
export async function liveHolds(sql: Sql, scheduleId: string): Promise<LiveHold[]> {
  const found = await sql.query<{
    id: string;
    seat_number: number;
    user_id: string;
    status: 'HELD' | 'PAYING';
    expires_at: Date;
  }>(
    `SELECT id, seat_number, user_id, status, expires_at FROM reservation
     WHERE status IN ('HELD','PAYING') AND schedule_id = ? ORDER BY seat_number`,
    [scheduleId],
  );
  return found.map((r) => ({
    reservationId: r.id,
    seatNumber: r.seat_number,
    userId: r.user_id,
    status: r.status,
    expiresAt: r.expires_at,
  }));
}
