// Proof, on 500k seat rows, that the catalog's read queries stay on their indexes and read
// about one schedule's worth of rows instead of scanning.
import { expect } from 'chai';
import type { SqlParam } from '../../../lib/db';
import { newId } from '../../../lib/ids';
import { testDatabase, type TestDatabase } from '../../../test/support/infra';
import { AVAILABLE_DATES_SQL, Concerts, SEAT_MAP_SQL } from './concerts';
import { CONCERT_MIGRATIONS } from './migrations';

const CONCERTS = 100;
const DATES_PER_CONCERT = 100; // 10,000 schedules
const SEATS = 50; // 500,000 seats
const SOLD_PER_SCHEDULE = 10; // seats 1-10 of every schedule are SOLD, 40 stay AVAILABLE
const ROWS_PER_INSERT = 10_000;

interface PlanTable {
  table_name: string;
  access_type: string;
  key?: string;
  r_loops: number;
  r_rows: number | null;
  using_index?: boolean;
}

/** ANALYZE FORMAT=JSON runs the statement and reports, per table, the rows it really read. */
async function analyze(
  t: TestDatabase,
  sql: string,
  params: SqlParam[],
): Promise<{ tables: Record<string, PlanTable>; json: string }> {
  const [row] = await t.db.query(`ANALYZE FORMAT=JSON ${sql}`, params);
  const json = String(Object.values(row)[0]);
  const tables: Record<string, PlanTable> = {};
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const obj = node as Record<string, unknown>;
      if (typeof obj.table_name === 'string' && typeof obj.access_type === 'string') {
        tables[obj.table_name] = obj as unknown as PlanTable;
      }
      Object.values(obj).forEach(walk);
    }
  };
  walk(JSON.parse(json));
  return { tables, json };
}

function dayOf(d: number): string {
  return new Date(Date.UTC(2030, 0, 1 + d)).toISOString().slice(0, 10);
}

function percentile(sorted: number[], p: number): string {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))].toFixed(2);
}

describe('concert indexes at 10,000 schedules x 50 seats', function () {
  this.timeout(120_000);
  let t: TestDatabase;
  const concertIds: string[] = [];

  before(async () => {
    t = await testDatabase('concert', CONCERT_MIGRATIONS);
    const started = Date.now();
    const scheduleIds: string[] = [];
    const schedules: string[] = [];
    const concerts: string[] = [];
    for (let c = 0; c < CONCERTS; c++) {
      const concertId = newId();
      concertIds.push(concertId);
      concerts.push(`('${concertId}', 'Concert ${c}', '2030-01-01')`);
      for (let d = 0; d < DATES_PER_CONCERT; d++) {
        const id = newId();
        scheduleIds.push(id);
        schedules.push(`('${id}', '${concertId}', '${dayOf(d)}', '2030-01-01', ${SEATS})`);
      }
    }
    await t.db.execute(`INSERT INTO concert (id, title, created_at) VALUES ${concerts.join(',')}`);
    await t.db.execute(
      `INSERT INTO schedule (id, concert_id, date, booking_opens_at, total_seats) VALUES ${schedules.join(',')}`,
    );
    let seats: string[] = [];
    for (const id of scheduleIds) {
      for (let n = 1; n <= SEATS; n++) {
        seats.push(
          n <= SOLD_PER_SCHEDULE
            ? `('${id}', ${n}, 10000, 'SOLD', 'r-${n}', '2030-01-01')`
            : `('${id}', ${n}, 10000, 'AVAILABLE', NULL, '2030-01-01')`,
        );
        if (seats.length === ROWS_PER_INSERT) {
          await t.db.execute(
            `INSERT INTO seat (schedule_id, seat_number, price, status, held_by, updated_at) VALUES ${seats.join(',')}`,
          );
          seats = [];
        }
      }
    }
    const [{ n }] = await t.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM seat');
    expect(Number(n)).to.equal(CONCERTS * DATES_PER_CONCERT * SEATS);
    console.log(
      `      (loaded ${scheduleIds.length} schedules and ${Number(n)} seats in ${Date.now() - started} ms)`,
    );
    // Fresh statistics, as a long-running database would have.
    await t.db.query('ANALYZE TABLE concert, schedule, seat');
  });

  after(async () => {
    await t.drop();
  });

  it('reads a seat map as one primary-key range of 50 rows, already in seat order', async () => {
    const { tables, json } = await analyze(t, SEAT_MAP_SQL, [concertIds[37], dayOf(31)]);
    expect(tables.s).to.include({ access_type: 'const', key: 'schedule_concert_date' });
    expect(tables.st).to.include({ access_type: 'ref', key: 'PRIMARY', r_loops: 1, r_rows: SEATS });
    expect(json).not.to.include('filesort');
    expect(json).not.to.include('temporary_table');
  });

  it('counts available dates from the (schedule_id, status) index: only the AVAILABLE entries of one concert', async () => {
    const params = [concertIds[63], dayOf(0), new Date('2030-06-01T00:00:00Z')];
    const { tables, json } = await analyze(t, AVAILABLE_DATES_SQL, params);
    expect(tables.s).to.include({
      access_type: 'range',
      key: 'schedule_concert_date',
      r_loops: 1,
      r_rows: DATES_PER_CONCERT,
    });
    // One index lookup per schedule, each reading its 40 AVAILABLE entries (not 50, not 500k),
    // from the index alone.
    expect(tables.st).to.include({
      access_type: 'ref',
      key: 'seat_schedule_status',
      using_index: true,
      r_loops: DATES_PER_CONCERT,
      r_rows: SEATS - SOLD_PER_SCHEDULE,
    });
    expect(json).not.to.include('filesort');
    expect(json).not.to.include('temporary_table');
    const dates = await new Concerts(t.db).availableDates(
      concertIds[63],
      dayOf(0),
      new Date('2030-06-01T00:00:00Z'),
    );
    expect(dates).to.have.length(DATES_PER_CONCERT);
    expect(
      dates.every((d) => d.availableSeats === SEATS - SOLD_PER_SCHEDULE && d.totalSeats === SEATS),
    ).to.equal(true);
  });

  it('reports seat-map and available-dates latency (not asserted)', async () => {
    const concerts = new Concerts(t.db);
    const seatMapMs: number[] = [];
    const datesMs: number[] = [];
    for (let i = 0; i < 300; i++) {
      const concertId = concertIds[(i * 37) % CONCERTS];
      let started = process.hrtime.bigint();
      const map = await concerts.seatMap(concertId, dayOf((i * 13) % DATES_PER_CONCERT));
      seatMapMs.push(Number(process.hrtime.bigint() - started) / 1e6);
      expect(map?.seats).to.have.length(SEATS);
      started = process.hrtime.bigint();
      await concerts.availableDates(concertId, dayOf(0), new Date('2030-06-01T00:00:00Z'));
      datesMs.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    for (const [name, samples] of [
      ['seat map (50 seats)', seatMapMs],
      ['available dates (100 dates)', datesMs],
    ] as const) {
      const sorted = [...samples].sort((a, b) => a - b);
      console.log(
        `      (${name}: p50 ${percentile(sorted, 50)} ms, p95 ${percentile(sorted, 95)} ms, p99 ${percentile(sorted, 99)} ms over ${sorted.length} sequential calls)`,
      );
    }
  });
});
