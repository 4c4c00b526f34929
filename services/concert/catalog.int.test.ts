import { expect } from 'chai';
import { DomainError } from '../../lib/errors';
import { testDatabase, type TestDatabase } from '../../test/support/infra';
import { Catalog, DEMO_CONCERT_ID } from './catalog';
import { Concerts } from './data/concerts';
import { CONCERT_MIGRATIONS } from './data/migrations';
import { Rankings } from './data/rankings';

async function refusal(
  work: Promise<unknown>,
): Promise<{ reason: string; metadata: Record<string, string> } | undefined> {
  try {
    await work;
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    return { reason: err.reason, metadata: err.metadata };
  }
  return undefined;
}

async function count(
  t: TestDatabase,
  sql: string,
  params: (string | number)[] = [],
): Promise<number> {
  const [row] = await t.db.query<{ n: number }>(sql, params);
  return Number(row.n);
}

describe('concert catalog (database)', function () {
  this.timeout(60_000);
  let t: TestDatabase;
  let clock: Date;
  let catalog: Catalog;

  before(async () => {
    t = await testDatabase('concert', CONCERT_MIGRATIONS);
    clock = new Date('2030-06-01T12:00:00.000Z');
    catalog = new Catalog(new Concerts(t.db), new Rankings(t.db), () => clock);
  });

  after(async () => {
    await t.drop();
  });

  describe('a concert from creation to its seat map', () => {
    let concertId: string;
    let scheduleOf: Record<string, string>;

    before(async () => {
      const created = await catalog.createConcert('admin', {
        title: '  Summer Night ',
        dates: ['2030-06-03', '2030-05-31', '2030-06-01', '2030-06-02', '2030-06-04'],
        seatsPerDate: 5,
        price: 12000,
        bookingOpensAt: '2030-06-01T00:00:00Z',
      });
      concertId = created.concertId;
      scheduleOf = Object.fromEntries(created.schedules.map((s) => [s.date, s.scheduleId]));
      expect(created.title).to.equal('Summer Night');
      expect(created.schedules.map((s) => [s.date, s.totalSeats])).to.deep.equal([
        ['2030-05-31', 5],
        ['2030-06-01', 5],
        ['2030-06-02', 5],
        ['2030-06-03', 5],
        ['2030-06-04', 5],
      ]);
    });

    it('stores every schedule with seats 1..N, all AVAILABLE at the price', async () => {
      const rows = await t.db.query<{
        n: number;
        lo: number;
        hi: number;
        price: number;
        available: number;
      }>(
        `SELECT COUNT(*) AS n, MIN(seat_number) AS lo, MAX(seat_number) AS hi, MIN(price) AS price,
                SUM(status = 'AVAILABLE' AND held_by IS NULL) AS available
         FROM seat st JOIN schedule s ON s.id = st.schedule_id WHERE s.concert_id = ? GROUP BY s.id`,
        [concertId],
      );
      expect(
        rows.map((r) => [Number(r.n), r.lo, r.hi, r.price, Number(r.available)]),
      ).to.deep.equal(Array(5).fill([5, 1, 5, 12000, 5]));
    });

    it('lists the concert among all concerts, oldest first', async () => {
      const saved = clock;
      clock = new Date(saved.getTime() + 1000);
      const later = await catalog.createConcert('admin', {
        title: 'Later',
        dates: ['2030-07-01'],
        price: 1,
      });
      clock = saved;
      const list = await catalog.listConcerts();
      const ids = list.map((c) => c.id);
      expect(ids.indexOf(concertId)).to.be.lessThan(ids.indexOf(later.concertId));
      expect(list.find((c) => c.id === concertId)).to.deep.equal({
        id: concertId,
        title: 'Summer Night',
      });
    });

    it('lists open dates from today (UTC) with their available and total seats, ascending', async () => {
      expect(await catalog.listDates(concertId)).to.deep.equal(
        ['2030-06-01', '2030-06-02', '2030-06-03', '2030-06-04'].map((date) => ({
          scheduleId: scheduleOf[date],
          date,
          availableSeats: 5,
          totalSeats: 5,
        })),
      );
    });

    it('counts only AVAILABLE seats and leaves out a date with none left', async () => {
      await t.db.execute(
        "UPDATE seat SET status = 'HELD', held_by = 'r-held' WHERE schedule_id = ? AND seat_number IN (2, 4)",
        [scheduleOf['2030-06-02']],
      );
      await t.db.execute(
        "UPDATE seat SET status = 'SOLD', held_by = 'r-sold' WHERE schedule_id = ?",
        [scheduleOf['2030-06-03']],
      );
      const dates = await catalog.listDates(concertId);
      expect(dates.map((d) => [d.date, d.availableSeats, d.totalSeats])).to.deep.equal([
        ['2030-06-01', 5, 5],
        ['2030-06-02', 3, 5],
        ['2030-06-04', 5, 5],
      ]);
    });

    it('shows the seat map ordered 1..N with ids, prices and statuses', async () => {
      const scheduleId = scheduleOf['2030-06-02'];
      const listing = await catalog.listSeats(concertId, '2030-06-02');
      expect(listing).to.deep.equal({
        scheduleId,
        seats: [1, 2, 3, 4, 5].map((n) => ({
          seatId: `${scheduleId}-${n}`,
          seatNumber: n,
          price: 12000,
          status: n === 2 || n === 4 ? 'HELD' : 'AVAILABLE',
        })),
      });
    });

    it('still shows the seat map of a past or sold-out date', async () => {
      expect((await catalog.listSeats(concertId, '2030-05-31')).seats).to.have.length(5);
      const sold = await catalog.listSeats(concertId, '2030-06-03');
      expect(sold.seats.map((s) => s.status)).to.deep.equal(Array(5).fill('SOLD'));
    });

    it('refuses unknown concerts, dates and malformed dates with the right reasons', async () => {
      expect(await refusal(catalog.listDates('no-such-concert'))).to.deep.equal({
        reason: 'CONCERT_NOT_FOUND',
        metadata: {},
      });
      const notFound = { reason: 'SCHEDULE_NOT_FOUND', metadata: {} };
      expect(await refusal(catalog.listSeats('no-such-concert', '2030-06-01'))).to.deep.equal(
        notFound,
      );
      expect(await refusal(catalog.listSeats(concertId, '2030-06-05'))).to.deep.equal(notFound);
      expect(await refusal(catalog.listSeats(concertId, '2030-6-1'))).to.deep.equal(notFound);
      expect(await refusal(catalog.listSeats(concertId, '2030-02-30'))).to.deep.equal(notFound);
    });
  });

  describe('the booking window', () => {
    it('hides dates until booking opens, then shows them; a concert without open dates lists none', async () => {
      const { concertId } = await catalog.createConcert('admin', {
        title: 'Opens at noon tomorrow',
        dates: ['2030-06-10'],
        seatsPerDate: 2,
        price: 5000,
        bookingOpensAt: '2030-06-02T12:00:00Z',
      });
      expect(await catalog.listDates(concertId)).to.deep.equal([]);
      const saved = clock;
      try {
        clock = new Date('2030-06-02T11:59:59.999Z');
        expect(await catalog.listDates(concertId)).to.deep.equal([]);
        clock = new Date('2030-06-02T12:00:00.000Z');
        expect((await catalog.listDates(concertId)).map((d) => d.date)).to.deep.equal([
          '2030-06-10',
        ]);
        clock = new Date('2030-06-11T00:00:00.000Z');
        expect(await catalog.listDates(concertId)).to.deep.equal([]);
      } finally {
        clock = saved;
      }
    });
  });

  describe('creating concerts', () => {
    it('refuses a caller who is not an admin, and writes nothing', async () => {
      const before = await count(t, 'SELECT COUNT(*) AS n FROM concert');
      expect(
        await refusal(
          catalog.createConcert('user', { title: 'x', dates: ['2030-07-01'], price: 1 }),
        ),
      ).to.deep.equal({
        reason: 'ADMIN_ONLY',
        metadata: {},
      });
      expect(
        await refusal(
          catalog.createConcert('admin', { title: 'x', dates: ['2030-07-01'], price: 0 }),
        ),
      ).to.deep.equal({
        reason: 'INVALID_ARGUMENT',
        metadata: { field: 'price' },
      });
      expect(await count(t, 'SELECT COUNT(*) AS n FROM concert')).to.equal(before);
    });

    it('creates 365 dates x 500 seats completely, in one go', async () => {
      const dates = Array.from({ length: 365 }, (_, i) =>
        new Date(Date.UTC(2031, 0, 1 + i)).toISOString().slice(0, 10),
      );
      const started = process.hrtime.bigint();
      const created = await catalog.createConcert('admin', {
        title: 'Residency',
        dates,
        seatsPerDate: 500,
        price: 99000,
      });
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      console.log(`      (365 x 500 = 182,500 seats created in ${ms.toFixed(0)} ms)`);
      expect(created.schedules).to.have.length(365);
      expect(created.schedules.map((s) => s.date)).to.deep.equal(dates);
      expect(
        await count(t, 'SELECT COUNT(*) AS n FROM schedule WHERE concert_id = ?', [
          created.concertId,
        ]),
      ).to.equal(365);
      expect(
        await count(
          t,
          `SELECT COUNT(*) AS n FROM seat st JOIN schedule s ON s.id = st.schedule_id
           WHERE s.concert_id = ? AND st.status = 'AVAILABLE' AND st.price = 99000`,
          [created.concertId],
        ),
      ).to.equal(182_500);
      expect(
        await count(
          t,
          `SELECT COUNT(DISTINCT st.schedule_id, st.seat_number) AS n FROM seat st JOIN schedule s ON s.id = st.schedule_id
           WHERE s.concert_id = ? AND st.seat_number BETWEEN 1 AND 500`,
          [created.concertId],
        ),
      ).to.equal(182_500);
    });
  });

  describe('the demo seed', () => {
    it('creates the demo concert once, even when seeded twice at the same time, then never again', async () => {
      const first = await Promise.all([catalog.seedDemo(), catalog.seedDemo()]);
      expect(first.filter(Boolean)).to.have.length(1);
      expect(await catalog.seedDemo()).to.equal(false);
      expect(
        (await catalog.listConcerts()).filter((c) => c.title === 'Boxoffice Demo Night'),
      ).to.deep.equal([{ id: DEMO_CONCERT_ID, title: 'Boxoffice Demo Night' }]);
      const dates = await catalog.listDates(DEMO_CONCERT_ID);
      expect(dates.map((d) => [d.date, d.availableSeats, d.totalSeats])).to.deep.equal([
        ['2030-06-02', 50, 50],
        ['2030-06-03', 50, 50],
        ['2030-06-04', 50, 50],
      ]);
      const listing = await catalog.listSeats(DEMO_CONCERT_ID, '2030-06-02');
      expect(listing.seats.every((s) => s.price === 10000)).to.equal(true);
    });
  });

  describe('the sold-out ranking', () => {
    it('is empty while nothing has sold out', async () => {
      expect(await catalog.ranking(undefined)).to.deep.equal([]);
    });

    it('ranks the fastest sell-outs first, earlier sell-out first on a tie, up to the limit', async () => {
      await t.db.execute(
        `INSERT INTO sold_out_ranking (schedule_id, concert_id, title, date, sold_out_seconds, sold_out_at) VALUES
         ('s-slow', 'c1', 'Slow', '2030-06-01', 900, '2030-05-01 00:15:00'),
         ('s-fast', 'c2', 'Fast', '2030-06-02', 30, '2030-05-02 00:00:30'),
         ('s-tie-late', 'c3', 'Tie late', '2030-06-03', 60, '2030-05-03 00:01:00'),
         ('s-tie-early', 'c4', 'Tie early', '2030-06-04', 60, '2030-05-01 00:01:00')`,
      );
      expect(await catalog.ranking(3)).to.deep.equal([
        {
          rank: 1,
          concertId: 'c2',
          scheduleId: 's-fast',
          title: 'Fast',
          date: '2030-06-02',
          soldOutSeconds: 30,
        },
        {
          rank: 2,
          concertId: 'c4',
          scheduleId: 's-tie-early',
          title: 'Tie early',
          date: '2030-06-04',
          soldOutSeconds: 60,
        },
        {
          rank: 3,
          concertId: 'c3',
          scheduleId: 's-tie-late',
          title: 'Tie late',
          date: '2030-06-03',
          soldOutSeconds: 60,
        },
      ]);
      expect(await catalog.ranking(undefined)).to.have.length(4);
      expect(await refusal(catalog.ranking(101))).to.deep.equal({
        reason: 'INVALID_ARGUMENT',
        metadata: { field: 'limit' },
      });
      await t.db.execute('DELETE FROM sold_out_ranking');
    });
  });
});
