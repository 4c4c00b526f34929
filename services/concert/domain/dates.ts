// Calendar dates (YYYY-MM-DD) and RFC 3339 instants, parsed strictly and in UTC.

// MariaDB's documented DATE/DATETIME range; outside it values are not guaranteed to round-trip.
const MIN_YEAR = 1000;
const MAX_YEAR = 9999;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

const MS_PER_DAY = 86_400_000;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function validDay(year: number, month: number, day: number): boolean {
  return (
    year >= MIN_YEAR &&
    year <= MAX_YEAR &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth(year, month)
  );
}

/** True for a real calendar day written exactly as YYYY-MM-DD (years 1000-9999). */
export function isCalendarDate(value: string): boolean {
  const m = DATE.exec(value);
  return m !== null && validDay(Number(m[1]), Number(m[2]), Number(m[3]));
}

/**
 * An RFC 3339 date-time with a Z or numeric offset, as a Date (millisecond precision; finer
 * fractions are truncated). undefined when malformed, out of range, or a leap second (60),
 * which a JavaScript Date cannot hold.
 */
export function parseInstant(value: string): Date | undefined {
  const m = INSTANT.exec(value);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  if (!validDay(year, month, day) || hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  let offsetMinutes = 0;
  if (m[8] !== undefined) {
    const oh = Number(m[9]);
    const om = Number(m[10]);
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = (m[8] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const instant = new Date(
    Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMinutes * 60_000,
  );
  // An offset can push the instant across a year boundary, out of the storable range.
  const y = instant.getUTCFullYear();
  return y >= MIN_YEAR && y <= MAX_YEAR ? instant : undefined;
}

/** The UTC calendar day of an instant, as YYYY-MM-DD. */
export function utcDate(instant: Date): string {
  return instant.toISOString().slice(0, 10);
}

/** The calendar day `days` after a YYYY-MM-DD day. */
export function addDays(date: string, days: number): string {
  return utcDate(new Date(Date.parse(`${date}T00:00:00Z`) + days * MS_PER_DAY));
}
