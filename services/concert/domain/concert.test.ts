import { expect } from 'chai';
import { DomainError } from '../../../lib/errors';
import { assertAdmin, demoConcert, planConcert, type NewConcertInput } from './concert';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const VALID: NewConcertInput = { title: 'Night', dates: ['2026-12-24'], price: 10000 };

/** The reason and field of the error fn throws, or undefined when it succeeds. */
function refusal(fn: () => unknown): { reason: string; field?: string } | undefined {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    return err.metadata.field === undefined
      ? { reason: err.reason }
      : { reason: err.reason, field: err.metadata.field };
  }
  return undefined;
}

function invalid(field: string) {
  return { reason: 'INVALID_ARGUMENT', field };
}

function plan(change: Partial<NewConcertInput>) {
  return () => planConcert({ ...VALID, ...change }, NOW);
}

describe('creating a concert', () => {
  it('lets only an admin create a concert', () => {
    expect(refusal(() => assertAdmin('admin'))).to.equal(undefined);
    expect(refusal(() => assertAdmin('user'))).to.deep.equal({ reason: 'ADMIN_ONLY' });
    expect(refusal(() => assertAdmin(''))).to.deep.equal({ reason: 'ADMIN_ONLY' });
  });

  it('fills the defaults: 50 seats per date, booking open from now', () => {
    expect(planConcert(VALID, NOW)).to.deep.equal({
      title: 'Night',
      dates: ['2026-12-24'],
      seatsPerDate: 50,
      price: 10000,
      bookingOpensAt: NOW,
    });
  });

  it('trims the title and accepts 1 to 200 characters, counting code points', () => {
    expect(planConcert({ ...VALID, title: '  Night  ' }, NOW).title).to.equal('Night');
    expect(planConcert({ ...VALID, title: 'x' }, NOW).title).to.equal('x');
    expect(planConcert({ ...VALID, title: 'x'.repeat(200) }, NOW).title).to.have.length(200);
    expect(planConcert({ ...VALID, title: '🎵'.repeat(200) }, NOW).title).to.equal(
      '🎵'.repeat(200),
    );
    expect(refusal(plan({ title: '' }))).to.deep.equal(invalid('title'));
    expect(refusal(plan({ title: '   \t ' }))).to.deep.equal(invalid('title'));
    expect(refusal(plan({ title: 'x'.repeat(201) }))).to.deep.equal(invalid('title'));
    expect(refusal(plan({ title: '🎵'.repeat(201) }))).to.deep.equal(invalid('title'));
  });

  it('takes 1 to 365 distinct calendar dates and sorts them ascending', () => {
    expect(
      planConcert({ ...VALID, dates: ['2026-12-25', '2026-01-02', '2026-12-24'] }, NOW).dates,
    ).to.deep.equal(['2026-01-02', '2026-12-24', '2026-12-25']);
    const year = Array.from({ length: 365 }, (_, i) =>
      new Date(Date.UTC(2027, 0, 1 + i)).toISOString().slice(0, 10),
    );
    expect(planConcert({ ...VALID, dates: year }, NOW).dates).to.have.length(365);
    expect(refusal(plan({ dates: [] }))).to.deep.equal(invalid('dates'));
    expect(refusal(plan({ dates: [...year, '2028-01-01'] }))).to.deep.equal(invalid('dates'));
    expect(refusal(plan({ dates: ['2026-12-24', '2026-12-24'] }))).to.deep.equal(invalid('dates'));
    expect(refusal(plan({ dates: ['2026-02-30'] }))).to.deep.equal(invalid('dates'));
    expect(refusal(plan({ dates: ['2026-12-24', '24/12/2026'] }))).to.deep.equal(invalid('dates'));
  });

  it('takes 1 to 500 seats per date', () => {
    expect(planConcert({ ...VALID, seatsPerDate: 1 }, NOW).seatsPerDate).to.equal(1);
    expect(planConcert({ ...VALID, seatsPerDate: 500 }, NOW).seatsPerDate).to.equal(500);
    for (const bad of [0, -1, 501, 2.5, Number.NaN]) {
      expect(refusal(plan({ seatsPerDate: bad })), String(bad)).to.deep.equal(
        invalid('seatsPerDate'),
      );
    }
  });

  it('takes an integer price from 1 to 10,000,000', () => {
    expect(planConcert({ ...VALID, price: 1 }, NOW).price).to.equal(1);
    expect(planConcert({ ...VALID, price: 10_000_000 }, NOW).price).to.equal(10_000_000);
    for (const bad of [0, -10, 10_000_001, 99.5, Number.NaN, Number.MAX_SAFE_INTEGER + 2]) {
      expect(refusal(plan({ price: bad })), String(bad)).to.deep.equal(invalid('price'));
    }
  });

  it('takes bookingOpensAt as an RFC 3339 instant, past or future', () => {
    expect(
      planConcert(
        { ...VALID, bookingOpensAt: '2026-12-01T10:00:00+09:00' },
        NOW,
      ).bookingOpensAt.toISOString(),
    ).to.equal('2026-12-01T01:00:00.000Z');
    expect(
      planConcert(
        { ...VALID, bookingOpensAt: '2020-01-01T00:00:00Z' },
        NOW,
      ).bookingOpensAt.toISOString(),
    ).to.equal('2020-01-01T00:00:00.000Z');
    for (const bad of ['', '2026-12-01', '2026-12-01T10:00:00', 'soon']) {
      expect(refusal(plan({ bookingOpensAt: bad })), bad).to.deep.equal(invalid('bookingOpensAt'));
    }
  });

  it('reports the first broken rule in field order', () => {
    expect(
      refusal(() => planConcert({ title: '', dates: [], price: 0, seatsPerDate: 0 }, NOW)),
    ).to.deep.equal(invalid('title'));
    expect(refusal(() => planConcert({ title: 't', dates: ['x'], price: 0 }, NOW))).to.deep.equal(
      invalid('dates'),
    );
  });

  it('plans the demo concert: three dates from tomorrow UTC, 50 seats at 10000, open now', () => {
    const lateNight = new Date('2026-12-31T23:30:00.000Z');
    expect(demoConcert(lateNight)).to.deep.equal({
      title: 'Boxoffice Demo Night',
      dates: ['2027-01-01', '2027-01-02', '2027-01-03'],
      seatsPerDate: 50,
      price: 10000,
      bookingOpensAt: lateNight,
    });
  });
});
