import { expect } from 'chai';
import { DomainError } from '../../../lib/errors';
import {
  assertReservationId,
  isBookingOpen,
  isSeatNumberOf,
  openWindowBounds,
  parseSeatId,
  seatId,
} from './booking';

describe('booking window and seat ids', () => {
  const now = new Date('2026-12-24T10:00:00.000Z');

  it('opens a date at its opening instant and keeps it open through its own day (UTC)', () => {
    expect(isBookingOpen({ date: '2026-12-24', opensAt: now }, now)).to.equal(true);
    expect(
      isBookingOpen({ date: '2026-12-30', opensAt: new Date('2026-01-01T00:00:00Z') }, now),
    ).to.equal(true);
  });

  it('is closed before the opening instant, even by a millisecond', () => {
    expect(
      isBookingOpen({ date: '2026-12-30', opensAt: new Date(now.getTime() + 1) }, now),
    ).to.equal(false);
  });

  it('is closed once the date is in the past (UTC)', () => {
    expect(
      isBookingOpen({ date: '2026-12-23', opensAt: new Date('2026-01-01T00:00:00Z') }, now),
    ).to.equal(false);
    // 23:59:59.999 UTC is still the same day.
    const lastMs = new Date('2026-12-24T23:59:59.999Z');
    expect(isBookingOpen({ date: '2026-12-24', opensAt: now }, lastMs)).to.equal(true);
    expect(
      isBookingOpen({ date: '2026-12-24', opensAt: now }, new Date(lastMs.getTime() + 1)),
    ).to.equal(false);
  });

  it('gives a query the same rule as bounds', () => {
    expect(openWindowBounds(now)).to.deep.equal({ openedBy: now, fromDate: '2026-12-24' });
  });

  it('names a seat by its schedule and number, and reads that name back', () => {
    const id = seatId('01jabcdefghjkmnpqrstvwxyz0', 42);
    expect(id).to.equal('01jabcdefghjkmnpqrstvwxyz0-42');
    expect(parseSeatId(id)).to.deep.equal({
      scheduleId: '01jabcdefghjkmnpqrstvwxyz0',
      seatNumber: 42,
    });
  });

  it('refuses seat ids that do not name a schedule and a positive number', () => {
    for (const bad of [
      '',
      '42',
      '-42',
      'abc-',
      'abc-0',
      'abc-07',
      'abc-x',
      'abc-1.5',
      'abc-1234567',
    ]) {
      expect(parseSeatId(bad), bad).to.equal(undefined);
    }
  });

  it('knows a seat number only within 1..total seats', () => {
    expect([0, 1, 50, 51, -1, 1.5].map((n) => isSeatNumberOf(50, n))).to.deep.equal([
      false,
      true,
      true,
      false,
      false,
      false,
    ]);
  });

  it('takes a reservation id of 1 to 64 characters', () => {
    expect(() => assertReservationId('r'.repeat(64))).to.not.throw();
    for (const bad of ['', 'r'.repeat(65)]) {
      let refused: unknown;
      try {
        assertReservationId(bad);
      } catch (err) {
        refused = err;
      }
      expect((refused as DomainError).metadata, bad).to.deep.equal({ field: 'reservationId' });
    }
  });
});
