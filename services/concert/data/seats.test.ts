import { expect } from 'chai';
import type { Sql, SqlParam } from '../../../lib/db';
import { KnownSchedules } from './seats';

/** A schedule table of the given dates that counts the queries it answers. */
function scheduleTable(dates: string[]) {
  const asked: SqlParam[][] = [];
  const sql = {
    query: (_q: string, params: SqlParam[] = []) => {
      asked.push(params);
      const [concertId, date] = params as string[];
      return Promise.resolve(
        dates.includes(date)
          ? [{ id: `${concertId}-${date}`, date, booking_opens_at: new Date(0), total_seats: 50 }]
          : [],
      );
    },
  } as unknown as Sql;
  return { sql, asked, dates };
}

describe('KnownSchedules', () => {
  it('asks the database once per found schedule', async () => {
    const t = scheduleTable(['2026-12-24']);
    const known = new KnownSchedules();
    const first = await known.find(t.sql, 'c1', '2026-12-24');
    const again = await known.find(t.sql, 'c1', '2026-12-24');
    expect(again).to.deep.equal(first);
    expect(first).to.deep.include({ id: 'c1-2026-12-24', totalSeats: 50 });
    expect(t.asked).to.deep.equal([['c1', '2026-12-24']]);
  });

  it('asks again for a date it did not find, which may be created later', async () => {
    const t = scheduleTable([]);
    const known = new KnownSchedules();
    expect(await known.find(t.sql, 'c1', '2026-12-25')).to.equal(undefined);
    t.dates.push('2026-12-25');
    expect(await known.find(t.sql, 'c1', '2026-12-25')).to.deep.include({ id: 'c1-2026-12-25' });
    expect(t.asked).to.have.length(2);
  });

  it('forgets the entry it remembered first once full', async () => {
    const t = scheduleTable(['2026-12-24', '2026-12-25', '2026-12-26']);
    const known = new KnownSchedules(2);
    for (const date of t.dates) await known.find(t.sql, 'c1', date);
    await known.find(t.sql, 'c1', '2026-12-26');
    await known.find(t.sql, 'c1', '2026-12-25');
    expect(t.asked).to.have.length(3);
    await known.find(t.sql, 'c1', '2026-12-24');
    expect(t.asked).to.have.length(4);
  });
});
