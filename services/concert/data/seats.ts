// Seats as bookings move them. Each transition is one conditional UPDATE on the state it
// expects (a semantic lock) whose affected-row count is the answer: never read-then-write on
// the seat being decided. mysql2 reports matched rows, so every UPDATE changes updated_at.
import { setBounded } from '../../../lib/bounded';
import type { Sql } from '../../../lib/db';

/** A seat by its primary key (a seat id carries both parts). */
export interface SeatKey {
  scheduleId: string;
  seatNumber: number;
}

/** What a hold needs to know of a schedule first; none of it changes once created. */
export interface BookableSchedule {
  id: string;
  date: string;
  opensAt: Date;
  totalSeats: number;
}

export const HOLD_SQL = `UPDATE seat SET status = 'HELD', held_by = ?, updated_at = ?
  WHERE schedule_id = ? AND seat_number = ? AND status = 'AVAILABLE'`;

const PRICE_SQL = 'SELECT price FROM seat WHERE schedule_id = ? AND seat_number = ?';

// held_by NULL exactly when AVAILABLE (the seat_holder CHECK): both change together.
export const RELEASE_SQL = `UPDATE seat SET status = 'AVAILABLE', held_by = NULL, updated_at = ?
  WHERE schedule_id = ? AND seat_number = ? AND held_by = ? AND status IN ('HELD', 'SOLD')`;

export const SELL_SQL = `UPDATE seat SET status = 'SOLD', updated_at = ?
  WHERE schedule_id = ? AND seat_number = ? AND held_by = ? AND status = 'HELD'`;

export const UNSELL_SQL = `UPDATE seat SET status = 'HELD', updated_at = ?
  WHERE schedule_id = ? AND seat_number = ? AND held_by = ? AND status = 'SOLD'`;

/** A concert date by its unique (concert_id, date) key, or undefined when there is none. */
async function findSchedule(
  sql: Sql,
  concertId: string,
  date: string,
): Promise<BookableSchedule | undefined> {
  const [row] = await sql.query<{
    id: string;
    date: string;
    booking_opens_at: Date;
    total_seats: number;
  }>(
    'SELECT id, date, booking_opens_at, total_seats FROM schedule WHERE concert_id = ? AND date = ?',
    [concertId, date],
  );
  if (!row) return undefined;
  return { id: row.id, date: row.date, opensAt: row.booking_opens_at, totalSeats: row.total_seats };
}

/**
 * Schedules found by concert and date, remembered: a hold reads its schedule first, and none of
 * what it reads changes once created. A date not found is asked again next time (it may be
 * created later). Bounded: past `capacity`, the entry remembered first goes.
 */
export class KnownSchedules {
  private readonly byKey = new Map<string, BookableSchedule>();

  constructor(private readonly capacity = 10_000) {}

  async find(sql: Sql, concertId: string, date: string): Promise<BookableSchedule | undefined> {
    const key = `${concertId} ${date}`;
    const known = this.byKey.get(key);
    if (known) return known;
    const found = await findSchedule(sql, concertId, date);
    if (found) setBounded(this.byKey, this.capacity, key, found);
    return found;
  }
}

/**
 * AVAILABLE -> HELD by the reservation, and the seat's price read in the same round trip:
 * held is false when the seat was not AVAILABLE; price is undefined when there is no such seat.
 */
export async function hold(
  sql: Sql,
  seat: SeatKey,
  reservationId: string,
  now: Date,
): Promise<{ held: boolean; price: number | undefined }> {
  const { changed: n, rows } = await sql.changeAndRead<{ price: number }>(
    { sql: HOLD_SQL, params: [reservationId, now, seat.scheduleId, seat.seatNumber] },
    { sql: PRICE_SQL, params: [seat.scheduleId, seat.seatNumber] },
  );
  return { held: n === 1, price: rows[0]?.price };
}

/** HELD or SOLD by the reservation -> AVAILABLE; false when it was not (released already). */
export async function release(
  sql: Sql,
  seat: SeatKey,
  reservationId: string,
  now: Date,
): Promise<boolean> {
  return changed(sql, RELEASE_SQL, [now, seat.scheduleId, seat.seatNumber, reservationId]);
}

/** HELD by the reservation -> SOLD to it; false when the seat was not HELD by it. */
export async function sell(
  sql: Sql,
  seat: SeatKey,
  reservationId: string,
  now: Date,
): Promise<boolean> {
  return changed(sql, SELL_SQL, [now, seat.scheduleId, seat.seatNumber, reservationId]);
}

/** SOLD to the reservation -> HELD by it again; false when it was not SOLD to it. */
export async function unsell(
  sql: Sql,
  seat: SeatKey,
  reservationId: string,
  now: Date,
): Promise<boolean> {
  return changed(sql, UNSELL_SQL, [now, seat.scheduleId, seat.seatNumber, reservationId]);
}

/** Whether the seat is AVAILABLE as last committed (a plain read: it locks nothing). */
export async function isAvailable(sql: Sql, seat: SeatKey): Promise<boolean> {
  const [row] = await sql.query<{ status: string }>(
    'SELECT status FROM seat WHERE schedule_id = ? AND seat_number = ?',
    [seat.scheduleId, seat.seatNumber],
  );
  return row?.status === 'AVAILABLE';
}

/** A seat's price (immutable); undefined when there is no such seat. */
export async function priceOf(sql: Sql, seat: SeatKey): Promise<number | undefined> {
  const [row] = await sql.query<{ price: number }>(PRICE_SQL, [seat.scheduleId, seat.seatNumber]);
  return row?.price;
}

async function changed(
  sql: Sql,
  statement: string,
  params: (string | number | Date)[],
): Promise<boolean> {
  const res = await sql.execute(statement, params);
  return res.affectedRows === 1;
}
