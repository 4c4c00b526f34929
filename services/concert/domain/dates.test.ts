import { expect } from 'chai';
import { addDays, isCalendarDate, parseInstant, utcDate } from './dates';

describe('concert dates', () => {
  it('accepts real calendar days written as YYYY-MM-DD', () => {
    for (const ok of [
      '2026-12-24',
      '2024-02-29',
      '2000-02-29',
      '1000-01-01',
      '9999-12-31',
      '2026-01-31',
    ]) {
      expect(isCalendarDate(ok), ok).to.equal(true);
    }
  });

  it('refuses impossible days, other spellings and years outside 1000-9999', () => {
    for (const bad of [
      '2026-02-29',
      '1900-02-29',
      '2026-04-31',
      '2026-13-01',
      '2026-00-10',
      '2026-01-00',
      '2026-1-5',
      '26-01-05',
      '2026/01/05',
      '2026-01-05T00:00:00Z',
      ' 2026-01-05',
      '0999-12-31',
      '',
    ]) {
      expect(isCalendarDate(bad), bad).to.equal(false);
    }
  });

  it('parses RFC 3339 instants in UTC or with an offset, to the millisecond', () => {
    expect(parseInstant('2026-12-24T19:00:00Z')?.toISOString()).to.equal(
      '2026-12-24T19:00:00.000Z',
    );
    expect(parseInstant('2026-12-24t19:00:00z')?.toISOString()).to.equal(
      '2026-12-24T19:00:00.000Z',
    );
    expect(parseInstant('2026-12-24T19:00:00.5Z')?.toISOString()).to.equal(
      '2026-12-24T19:00:00.500Z',
    );
    expect(parseInstant('2026-12-24T19:00:00.123456789Z')?.toISOString()).to.equal(
      '2026-12-24T19:00:00.123Z',
    );
    expect(parseInstant('2026-12-25T04:00:00+09:00')?.toISOString()).to.equal(
      '2026-12-24T19:00:00.000Z',
    );
    expect(parseInstant('2026-12-24T14:30:00-04:30')?.toISOString()).to.equal(
      '2026-12-24T19:00:00.000Z',
    );
  });

  it('refuses anything that is not an RFC 3339 instant', () => {
    for (const bad of [
      '',
      '2026-12-24',
      '2026-12-24T19:00:00',
      '2026-12-24 19:00:00Z',
      '2026-12-24T24:00:00Z',
      '2026-12-24T19:60:00Z',
      '2026-12-24T19:00:60Z',
      '2026-02-30T19:00:00Z',
      '2026-12-24T19:00:00+24:00',
      '2026-12-24T19:00:00+09:60',
      '2026-12-24T19:00:00+0900',
      '2026-12-24T19:00:00.Z',
      '9999-12-31T23:00:00-05:00',
      'tomorrow',
    ]) {
      expect(parseInstant(bad), bad).to.equal(undefined);
    }
  });

  it('names the UTC day of an instant and counts days across months and leap years', () => {
    expect(utcDate(new Date('2026-12-24T23:59:59.999Z'))).to.equal('2026-12-24');
    expect(utcDate(new Date('2026-12-25T08:00:00+09:00'))).to.equal('2026-12-24');
    expect(addDays('2026-12-31', 1)).to.equal('2027-01-01');
    expect(addDays('2024-02-28', 1)).to.equal('2024-02-29');
    expect(addDays('2024-03-01', -1)).to.equal('2024-02-29');
  });
});
