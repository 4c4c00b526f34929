// The sold-out ranking read model: fastest sell-outs first, filled from completed sales.
import type { Database, Sql } from '../../../lib/db';
import type { ScheduleSales, SellOut } from '../domain/ranking';
import type { SeatKey } from './seats';

export interface SoldOut {
  scheduleId: string;
  concertId: string;
  title: string;
  date: string;
  soldOutSeconds: number;
}

export class Rankings {
  constructor(private readonly db: Database) {}

  /** Fastest first; ties go to whoever sold out earlier. One range of the fastest-index. */
  async fastest(limit: number): Promise<SoldOut[]> {
    const rows = await this.db.query<{
      schedule_id: string;
      concert_id: string;
      title: string;
      date: string;
      sold_out_seconds: number;
    }>(
      `SELECT schedule_id, concert_id, title, date, sold_out_seconds FROM sold_out_ranking
       ORDER BY sold_out_seconds, sold_out_at, schedule_id LIMIT ?`,
      [limit],
    );
    return rows.map((r) => ({
      scheduleId: r.schedule_id,
      concertId: r.concert_id,
      title: r.title,
      date: r.date,
      soldOutSeconds: Number(r.sold_out_seconds),
    }));
  }
}

/** A schedule as the ranking records it: the catalog's facts and its seats' sales. */
export interface ScheduleSalesRow extends ScheduleSales {
  scheduleId: string;
  concertId: string;
  title: string;
  date: string;
}

/**
 * Waits until the sale of this seat has committed. In XA mode the reservation's commit (whose
 * event this is) may land before the concert branch's: a locking read waits on that prepared
 * branch's row lock, so the snapshot read after it sees this sale. It must be the transaction's
 * first read, as the snapshot is taken at the first plain read.
 */
export async function awaitSale(tx: Sql, seat: SeatKey): Promise<void> {
  await tx.query(
    'SELECT status FROM seat WHERE schedule_id = ? AND seat_number = ? LOCK IN SHARE MODE',
    [seat.scheduleId, seat.seatNumber],
  );
}

/**
 * The catalog facts and seat sales of a schedule; undefined when it does not exist (or has no
 * seats). Whether a seat is unsold is one probe of the (schedule, status) index; the time of
 * the last change, which reads every seat, only once none is.
 */
export async function salesOf(tx: Sql, scheduleId: string): Promise<ScheduleSalesRow | undefined> {
  const [row] = await tx.query<{
    concert_id: string;
    title: string;
    date: string;
    booking_opens_at: Date;
    any_unsold: number;
    last_seat_change_at: Date | null;
  }>(
    `SELECT s.concert_id, c.title, s.date, s.booking_opens_at, u.any_unsold,
       IF(u.any_unsold, NULL, (SELECT MAX(updated_at) FROM seat WHERE schedule_id = s.id))
         AS last_seat_change_at
     FROM schedule s JOIN concert c ON c.id = s.concert_id
       JOIN (SELECT EXISTS (SELECT 1 FROM seat WHERE schedule_id = ? AND status <> 'SOLD')
         AS any_unsold) u
     WHERE s.id = ?`,
    [scheduleId, scheduleId],
  );
  if (!row || (!row.any_unsold && !row.last_seat_change_at)) return undefined;
  return {
    scheduleId,
    concertId: row.concert_id,
    title: row.title,
    date: row.date,
    bookingOpensAt: row.booking_opens_at,
    anyUnsold: row.any_unsold === 1,
    lastSeatChangeAt: row.last_seat_change_at ?? undefined,
  };
}

/** Enters a sold-out schedule once: a second entry (another sale's event) changes nothing. */
export async function enterRanking(
  tx: Sql,
  schedule: ScheduleSalesRow,
  soldOut: SellOut,
): Promise<boolean> {
  const res = await tx.execute(
    `INSERT IGNORE INTO sold_out_ranking
       (schedule_id, concert_id, title, date, sold_out_seconds, sold_out_at)
     VALUES (?, ?, ?, ?, ?, ?)`,
    [
      schedule.scheduleId,
      schedule.concertId,
      schedule.title,
      schedule.date,
      soldOut.soldOutSeconds,
      soldOut.soldOutAt,
    ],
  );
  return res.affectedRows === 1;
}
