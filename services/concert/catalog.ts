// The catalog's use cases: each is the story of one request, in a few named steps.
import { DomainError, invalidArgument } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { openWindowBounds, scheduleNotFound, seatId } from './domain/booking';
import { isCalendarDate } from './domain/dates';
import {
  assertAdmin,
  demoConcert,
  planConcert,
  type ConcertPlan,
  type NewConcertInput,
} from './domain/concert';
import { rankingLimit } from './domain/ranking';
import type {
  ConcertSummary,
  Concerts,
  DateAvailability,
  HeldSeat,
  NewConcert,
  SeatStatusName,
} from './data/concerts';
import type { Rankings } from './data/rankings';

/** Fixed, so that seeding twice (or from two processes at once) finds the first demo concert. */
export const DEMO_CONCERT_ID = '0000000000000000000000demo';

export interface CreatedConcert {
  concertId: string;
  title: string;
  schedules: { scheduleId: string; date: string; totalSeats: number }[];
}

export interface SeatListing {
  scheduleId: string;
  seats: { seatId: string; seatNumber: number; price: number; status: SeatStatusName }[];
}

/** One date's seats as operators watch them, with every date of the concert. */
export interface OperatorSeatMap {
  concertId: string;
  title: string;
  scheduleId: string;
  date: string;
  dates: string[];
  seats: HeldSeat[];
}

export interface RankingEntry {
  rank: number;
  concertId: string;
  scheduleId: string;
  title: string;
  date: string;
  soldOutSeconds: number;
}

export class Catalog {
  constructor(
    private readonly concerts: Concerts,
    private readonly rankings: Rankings,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async createConcert(callerRole: string, input: NewConcertInput): Promise<CreatedConcert> {
    assertAdmin(callerRole);
    const now = this.clock();
    const concert = withIds(newId(now.getTime()), planConcert(input, now), now);
    await this.concerts.create(concert);
    return created(concert);
  }

  async listConcerts(): Promise<ConcertSummary[]> {
    return this.concerts.list();
  }

  async listDates(concertId: string): Promise<DateAvailability[]> {
    const { fromDate, openedBy } = openWindowBounds(this.clock());
    const dates = await this.concerts.availableDates(concertId, fromDate, openedBy);
    // Only an empty answer needs telling apart "no open dates" from "no such concert".
    if (dates.length === 0 && !(await this.concerts.exists(concertId))) {
      throw new DomainError('CONCERT_NOT_FOUND', `concert ${concertId} does not exist`);
    }
    return dates;
  }

  async listSeats(concertId: string, date: string): Promise<SeatListing> {
    const map = isCalendarDate(date) ? await this.concerts.seatMap(concertId, date) : undefined;
    if (!map)
      throw new DomainError('SCHEDULE_NOT_FOUND', `concert ${concertId} has no date ${date}`);
    return {
      scheduleId: map.scheduleId,
      seats: map.seats.map((s) => ({ seatId: seatId(map.scheduleId, s.seatNumber), ...s })),
    };
  }

  /** A date's seats with who holds each, for operators; `date` empty: the first date. */
  async operatorSeatMap(concertId: string, date: string): Promise<OperatorSeatMap> {
    if (date !== '' && !isCalendarDate(date))
      throw invalidArgument('date', 'date must be YYYY-MM-DD');
    const concert = await this.concerts.dates(concertId);
    if (!concert) throw new DomainError('CONCERT_NOT_FOUND', `concert ${concertId} does not exist`);
    const schedule = date === '' ? concert.dates[0] : concert.dates.find((d) => d.date === date);
    if (!schedule) throw scheduleNotFound(concertId, date);
    return {
      concertId,
      title: concert.title,
      scheduleId: schedule.scheduleId,
      date: schedule.date,
      dates: concert.dates.map((d) => d.date),
      seats: await this.concerts.heldSeats(schedule.scheduleId),
    };
  }

  async ranking(limit: number | undefined): Promise<RankingEntry[]> {
    const rows = await this.rankings.fastest(rankingLimit(limit));
    return rows.map((r, i) => ({ rank: i + 1, ...r }));
  }

  /** Creates the demo concert unless it exists; true when this call created it. */
  async seedDemo(): Promise<boolean> {
    const now = this.clock();
    return this.concerts.create(withIds(DEMO_CONCERT_ID, demoConcert(now), now));
  }
}

function withIds(concertId: string, plan: ConcertPlan, now: Date): NewConcert {
  return {
    id: concertId,
    title: plan.title,
    createdAt: now,
    bookingOpensAt: plan.bookingOpensAt,
    seatsPerDate: plan.seatsPerDate,
    price: plan.price,
    schedules: plan.dates.map((date) => ({ id: newId(now.getTime()), date })),
  };
}

function created(concert: NewConcert): CreatedConcert {
  return {
    concertId: concert.id,
    title: concert.title,
    schedules: concert.schedules.map((s) => ({
      scheduleId: s.id,
      date: s.date,
      totalSeats: concert.seatsPerDate,
    })),
  };
}
