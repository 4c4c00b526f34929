// The rules of creating a concert: who may, and what a valid concert looks like.
import { DomainError, invalidArgument } from '../../../lib/errors';
import { addDays, isCalendarDate, parseInstant, utcDate } from './dates';

export const TITLE_MAX_CHARS = 200;
export const MAX_DATES = 365;
export const DEFAULT_SEATS_PER_DATE = 50;
export const MAX_SEATS_PER_DATE = 500;
export const MIN_PRICE = 1;
export const MAX_PRICE = 10_000_000;

/** What an admin asks for (the request, decoded). */
export interface NewConcertInput {
  title: string;
  dates: string[];
  seatsPerDate?: number;
  price: number;
  bookingOpensAt?: string;
}

/** A validated concert, ready to store: every date gets seats 1..seatsPerDate at one price. */
export interface ConcertPlan {
  title: string;
  /** Distinct YYYY-MM-DD days, ascending. */
  dates: string[];
  seatsPerDate: number;
  price: number;
  bookingOpensAt: Date;
}

export function assertAdmin(role: string): void {
  if (role !== 'admin') throw new DomainError('ADMIN_ONLY', 'only an admin may create concerts');
}

/** Validates an admin's request; the first rule broken is reported with its field. */
export function planConcert(input: NewConcertInput, now: Date): ConcertPlan {
  return {
    title: validTitle(input.title),
    dates: validDates(input.dates),
    seatsPerDate: validSeatsPerDate(input.seatsPerDate),
    price: validPrice(input.price),
    bookingOpensAt: validBookingOpensAt(input.bookingOpensAt, now),
  };
}

function validTitle(title: string): string {
  const trimmed = title.trim();
  // Counted in code points, as MariaDB counts the characters of a utf8mb4 VARCHAR.
  const chars = [...trimmed].length;
  if (chars < 1 || chars > TITLE_MAX_CHARS) {
    throw invalidArgument('title', `title must be 1 to ${TITLE_MAX_CHARS} characters`);
  }
  return trimmed;
}

function validDates(dates: string[]): string[] {
  if (dates.length < 1 || dates.length > MAX_DATES) {
    throw invalidArgument('dates', `dates must hold 1 to ${MAX_DATES} dates`);
  }
  const seen = new Set<string>();
  for (const date of dates) {
    if (!isCalendarDate(date)) {
      throw invalidArgument('dates', `"${date}" is not a calendar date in YYYY-MM-DD form`);
    }
    if (seen.has(date)) throw invalidArgument('dates', `dates must be distinct: ${date} repeats`);
    seen.add(date);
  }
  // YYYY-MM-DD sorts chronologically as text.
  return [...seen].sort();
}

function validSeatsPerDate(seats: number | undefined): number {
  if (seats === undefined) return DEFAULT_SEATS_PER_DATE;
  if (!Number.isInteger(seats) || seats < 1 || seats > MAX_SEATS_PER_DATE) {
    throw invalidArgument(
      'seatsPerDate',
      `seatsPerDate must be an integer from 1 to ${MAX_SEATS_PER_DATE}`,
    );
  }
  return seats;
}

function validPrice(price: number): number {
  if (!Number.isSafeInteger(price) || price < MIN_PRICE || price > MAX_PRICE) {
    throw invalidArgument('price', `price must be an integer from ${MIN_PRICE} to ${MAX_PRICE}`);
  }
  return price;
}

function validBookingOpensAt(value: string | undefined, now: Date): Date {
  if (value === undefined) return now;
  const instant = parseInstant(value);
  if (!instant) {
    throw invalidArgument(
      'bookingOpensAt',
      'bookingOpensAt must be an RFC 3339 instant, e.g. 2026-12-24T19:00:00Z',
    );
  }
  return instant;
}

export const DEMO_TITLE = 'Boxoffice Demo Night';

/** The demo concert: three dates from tomorrow (UTC), 50 seats each, booking open now. */
export function demoConcert(now: Date): ConcertPlan {
  const today = utcDate(now);
  return {
    title: DEMO_TITLE,
    dates: [1, 2, 3].map((d) => addDays(today, d)),
    seatsPerDate: DEFAULT_SEATS_PER_DATE,
    price: 10_000,
    bookingOpensAt: now,
  };
}
