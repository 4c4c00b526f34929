// When a date may be booked, how a seat is named, and why a booking step says no.
import { DomainError, invalidArgument } from '../../../lib/errors';
import { utcDate } from './dates';

export interface BookingWindow {
  /** The schedule's day, YYYY-MM-DD. */
  date: string;
  opensAt: Date;
}

/** A date is bookable once its booking has opened and until its day (UTC) is over. */
export function isBookingOpen(schedule: BookingWindow, now: Date): boolean {
  return schedule.opensAt.getTime() <= now.getTime() && schedule.date >= utcDate(now);
}

/** The same rule as bounds a query can use: opened by `openedBy`, on `fromDate` or later. */
export function openWindowBounds(now: Date): { openedBy: Date; fromDate: string } {
  return { openedBy: now, fromDate: utcDate(now) };
}

/**
 * A seat's id: `<scheduleId>-<seatNumber>`. Opaque to clients; it carries the seat table's
 * primary key (schedule_id, seat_number), so every lookup by seat id stays on that key.
 * Schedule ids never contain '-' (Crockford base32), so the last '-' splits it.
 */
export function seatId(scheduleId: string, seatNumber: number): string {
  return `${scheduleId}-${seatNumber}`;
}

export function parseSeatId(id: string): { scheduleId: string; seatNumber: number } | undefined {
  const cut = id.lastIndexOf('-');
  if (cut <= 0) return undefined;
  const number = id.slice(cut + 1);
  if (!/^[1-9]\d{0,5}$/.test(number)) return undefined;
  return { scheduleId: id.slice(0, cut), seatNumber: Number(number) };
}

/** A schedule's seats are numbered 1..totalSeats; no other number names a seat. */
export function isSeatNumberOf(totalSeats: number, seatNumber: number): boolean {
  return Number.isInteger(seatNumber) && seatNumber >= 1 && seatNumber <= totalSeats;
}

/** held_by is VARCHAR(64), and an empty holder would hold the seat for nobody. */
export const RESERVATION_ID_MAX_CHARS = 64;

export function assertReservationId(reservationId: string): void {
  if (reservationId.length < 1 || reservationId.length > RESERVATION_ID_MAX_CHARS) {
    throw invalidArgument(
      'reservationId',
      `reservationId must be 1 to ${RESERVATION_ID_MAX_CHARS} characters`,
    );
  }
}

export function scheduleNotFound(concertId: string, date: string): DomainError {
  return new DomainError('SCHEDULE_NOT_FOUND', `concert ${concertId} has no date ${date}`);
}

export function bookingClosed(date: string): DomainError {
  return new DomainError('BOOKING_CLOSED', `booking for ${date} is not open`);
}

export function seatNotFound(seat: string): DomainError {
  return new DomainError('SEAT_NOT_FOUND', `there is no seat ${seat}`);
}

export function seatUnavailable(seat: string): DomainError {
  return new DomainError('SEAT_UNAVAILABLE', `seat ${seat} is already held or sold`);
}
