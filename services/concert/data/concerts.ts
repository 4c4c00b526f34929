// Concerts, their schedules and seats. Returns plain objects; SQL that tests EXPLAIN is exported.
import { isDuplicateKey, type Database, type Sql, type SqlParam } from '../../../lib/db';

export type SeatStatusName = 'AVAILABLE' | 'HELD' | 'SOLD';

/** A validated concert with its ids minted: what `create` stores. */
export interface NewConcert {
  id: string;
  title: string;
  createdAt: Date;
  bookingOpensAt: Date;
  seatsPerDate: number;
  price: number;
  schedules: { id: string; date: string }[];
}

export interface ConcertSummary {
  id: string;
  title: string;
}

export interface DateAvailability {
  scheduleId: string;
  date: string;
  availableSeats: number;
  totalSeats: number;
}

export interface SeatView {
  seatNumber: number;
  price: number;
  status: SeatStatusName;
}

export interface SeatMap {
  scheduleId: string;
  seats: SeatView[];
}

/** A concert's dates, for operators. */
export interface ConcertDates {
  title: string;
  dates: { scheduleId: string; date: string }[];
}

/** A seat with the reservation that holds or bought it (null while AVAILABLE). */
export interface HeldSeat extends SeatView {
  reservationId: string | null;
}

// Rows per multi-row INSERT: large enough that 182,500 seats take a few dozen statements,
// small enough (~250 KB of SQL) to stay far below max_allowed_packet.
export const SEAT_BATCH_ROWS = 5000;
const SEAT_COLUMNS = 'seat (schedule_id, seat_number, price, updated_at)';

/**
 * Open dates of one concert with their AVAILABLE count, in one statement: the schedules come
 * from the (concert_id, date) key already in date order (so grouping by date needs no
 * temporary table or sort; with concert_id fixed, date determines the schedule row), and each
 * count reads only that schedule's AVAILABLE entries of the (schedule_id, status) index.
 * The inner join drops dates with no AVAILABLE seat.
 */
export const AVAILABLE_DATES_SQL = `SELECT s.id AS schedule_id, s.date, s.total_seats, COUNT(*) AS available_seats
  FROM schedule s
  JOIN seat st ON st.schedule_id = s.id AND st.status = 'AVAILABLE'
  WHERE s.concert_id = ? AND s.date >= ? AND s.booking_opens_at <= ?
  GROUP BY s.date
  ORDER BY s.date`;

/** A seat map: the schedule by its unique (concert_id, date), its seats by the primary key. */
export const SEAT_MAP_SQL = `SELECT s.id AS schedule_id, st.seat_number, st.price, st.status
  FROM schedule s
  JOIN seat st ON st.schedule_id = s.id
  WHERE s.concert_id = ? AND s.date = ?
  ORDER BY st.seat_number`;

export class Concerts {
  constructor(private readonly db: Database) {}

  /**
   * Stores a concert, its schedules and every seat in one transaction. false (and nothing
   * written) when a concert with this id already exists, which makes fixed-id seeds idempotent
   * even when two processes seed at once: the second waits on the first's row, then sees it.
   */
  create(concert: NewConcert): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      try {
        await tx.execute('INSERT INTO concert (id, title, created_at) VALUES (?, ?, ?)', [
          concert.id,
          concert.title,
          concert.createdAt,
        ]);
      } catch (err) {
        if (isDuplicateKey(err)) return false;
        throw err;
      }
      await insertRows(
        tx,
        'schedule (id, concert_id, date, booking_opens_at, total_seats)',
        concert.schedules.map((s) => [
          s.id,
          concert.id,
          s.date,
          concert.bookingOpensAt,
          concert.seatsPerDate,
        ]),
      );
      let batch: SqlParam[][] = [];
      for (const s of concert.schedules) {
        for (let n = 1; n <= concert.seatsPerDate; n++) {
          batch.push([s.id, n, concert.price, concert.createdAt]);
          if (batch.length === SEAT_BATCH_ROWS) {
            await insertRows(tx, SEAT_COLUMNS, batch);
            batch = [];
          }
        }
      }
      await insertRows(tx, SEAT_COLUMNS, batch);
      return true;
    });
  }

  /** Every concert, oldest first. */
  async list(): Promise<ConcertSummary[]> {
    return this.db.query<ConcertSummary>('SELECT id, title FROM concert ORDER BY created_at, id');
  }

  async exists(concertId: string): Promise<boolean> {
    const rows = await this.db.query('SELECT 1 FROM concert WHERE id = ?', [concertId]);
    return rows.length > 0;
  }

  /** Dates opened by `openedBy`, on `fromDate` or later, with at least one AVAILABLE seat. */
  async availableDates(
    concertId: string,
    fromDate: string,
    openedBy: Date,
  ): Promise<DateAvailability[]> {
    const rows = await this.db.query<{
      schedule_id: string;
      date: string;
      total_seats: number;
      available_seats: number;
    }>(AVAILABLE_DATES_SQL, [concertId, fromDate, openedBy]);
    return rows.map((r) => ({
      scheduleId: r.schedule_id,
      date: r.date,
      availableSeats: Number(r.available_seats),
      totalSeats: r.total_seats,
    }));
  }

  /** A concert's title and every date, in order; undefined for no such concert. */
  async dates(concertId: string): Promise<ConcertDates | undefined> {
    const rows = await this.db.query<{ title: string; schedule_id: string; date: string }>(
      `SELECT c.title, s.id AS schedule_id, s.date FROM concert c
       JOIN schedule s ON s.concert_id = c.id WHERE c.id = ? ORDER BY s.date`,
      [concertId],
    );
    if (rows.length === 0) return undefined;
    return {
      title: rows[0].title,
      dates: rows.map((r) => ({ scheduleId: r.schedule_id, date: r.date })),
    };
  }

  /** Every seat of a schedule by seat number, with the reservation holding it. */
  async heldSeats(scheduleId: string): Promise<HeldSeat[]> {
    const rows = await this.db.query<{
      seat_number: number;
      price: number;
      status: SeatStatusName;
      held_by: string | null;
    }>(
      'SELECT seat_number, price, status, held_by FROM seat WHERE schedule_id = ? ORDER BY seat_number',
      [scheduleId],
    );
    return rows.map((r) => ({
      seatNumber: r.seat_number,
      price: r.price,
      status: r.status,
      reservationId: r.held_by,
    }));
  }

  /** The seats of one concert date by seat number, or undefined when there is no such date. */
  async seatMap(concertId: string, date: string): Promise<SeatMap | undefined> {
    const rows = await this.db.query<{
      schedule_id: string;
      seat_number: number;
      price: number;
      status: SeatStatusName;
    }>(SEAT_MAP_SQL, [concertId, date]);
    if (rows.length === 0) return undefined;
    return {
      scheduleId: rows[0].schedule_id,
      seats: rows.map((r) => ({ seatNumber: r.seat_number, price: r.price, status: r.status })),
    };
  }
}

/** One multi-row INSERT of rows that all have the same columns. */
async function insertRows(tx: Sql, into: string, rows: SqlParam[][]): Promise<void> {
  if (rows.length === 0) return;
  const tuple = `(${rows[0].map(() => '?').join(', ')})`;
  await tx.execute(
    `INSERT INTO ${into} VALUES ${new Array<string>(rows.length).fill(tuple).join(', ')}`,
    rows.flat(),
  );
}
