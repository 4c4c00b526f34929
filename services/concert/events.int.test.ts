// The ranking consumer of the real concert service (plus a second consumer instance, as a
// second pod would run), fed ReservationCompleted events published straight to the run's own
// RabbitMQ vhost, against the real MariaDB.
import { expect } from 'chai';
import { asCoordinator, asUser } from '../../test/support/identity';
import { ConcertServiceService } from '../../gen/boxoffice/concert/v1/concert';
import { ParticipantServiceService } from '../../gen/boxoffice/participant/v1/participant';
import { createPool, Database, dropDatabase } from '../../lib/db';
import { EventConsumer } from '../../lib/events/consumer';
import type { EventEnvelope } from '../../lib/events/envelope';
import { RESERVATION_COMPLETED } from '../../lib/events/reservationCompleted';
import type { AsyncClient } from '../../lib/grpc/client';
import { phaseTwo, xaContext } from '../../test/support/tx';
import { testContext, type TestContext } from '../../test/support/context';
import { consumerAttached, envelope, publishEvents } from '../../test/support/events';
import { runId } from '../../test/support/infra';
import { eventually } from '../../test/support/people';
import { RANKING_QUEUE, rankingConsumer } from './events';
import { startConcert } from './main';

const SEATS = 50;
const OPENS_AT = Date.parse('2031-01-01T00:00:00.000Z');
/** The last sale: seat 17, 1 h 2 min 3.456 s after booking opened; the others sell earlier. */
const LAST_SEAT = 17;
const LAST_SALE_MS = 3723_456;

describe('concert ranking consumer (RabbitMQ, MariaDB)', function () {
  this.timeout(60_000);
  let ctx: TestContext;
  let db: Database;
  let other: EventConsumer;
  let client: AsyncClient<typeof ConcertServiceService>;
  let phase2: AsyncClient<typeof ParticipantServiceService>;
  let concertId: string;
  const scheduleOf: Record<string, string> = {};

  before(async () => {
    ctx = await testContext({
      CONCERT_GRPC_PORT: '0',
      DB_NAME_PREFIX: `${runId()}_`,
      EVENTS_RETRY_DELAYS_MS: '50,50',
    });
    const port = await startConcert(ctx);
    client = ctx.clientAt(ConcertServiceService, port, 'gateway');
    phase2 = ctx.clientAt(ParticipantServiceService, port, 'coordinator');
    db = new Database(
      createPool({ ...ctx.config.db.concert, poolSize: 10 }),
      ctx.config.db.concert.database,
    );
    other = new EventConsumer(ctx.broker, rankingConsumer(db, ctx.config.events, ctx.log), ctx.log);
    other.start();
    await consumerAttached(ctx.broker, RANKING_QUEUE);

    const admin = asUser(ctx.trust, { userId: 'boss', role: 'admin' });
    const created = await client.createConcert(
      {
        title: 'Gone in an hour',
        dates: ['2031-02-01', '2031-02-02', '2031-02-03', '2031-02-04'],
        seatsPerDate: SEATS,
        price: 5000,
        bookingOpensAt: new Date(OPENS_AT).toISOString(),
      },
      admin,
    );
    concertId = created.concertId;
    for (const s of created.schedules) scheduleOf[s.date] = s.scheduleId;
  });

  after(async () => {
    await other.stop();
    await ctx.stop();
    await db.close();
    await dropDatabase(ctx.config.db.concert);
  });

  /** Sells seats by SQL (held_by must name the holder once not AVAILABLE), at given instants. */
  async function sell(date: string, seats: number[], soldAtMs: (seat: number) => number) {
    for (const seat of seats) {
      await db.execute(
        `UPDATE seat SET status = 'SOLD', held_by = ?, updated_at = ?
         WHERE schedule_id = ? AND seat_number = ?`,
        [`r-${date}-${seat}`, new Date(OPENS_AT + soldAtMs(seat)), scheduleOf[date], seat],
      );
    }
  }

  const saleOf = (date: string, seatNumber: number): EventEnvelope =>
    envelope(RESERVATION_COMPLETED, {
      reservationId: `r-${date}-${seatNumber}`,
      paymentId: `p-${date}-${seatNumber}`,
      userId: `u${seatNumber}`,
      concertId,
      scheduleId: scheduleOf[date],
      date,
      seatNumber,
      amount: 5000,
    });

  const seatNumbers = Array.from({ length: SEATS }, (_, i) => i + 1);

  async function processed(events: EventEnvelope[]): Promise<number> {
    const [row] = await db.query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM processed_event
       WHERE consumer = ? AND event_id IN (${events.map(() => '?').join(', ')})`,
      [RANKING_QUEUE, ...events.map((e) => e.eventId)],
    );
    return Number(row.n);
  }

  /** Waits until every event has been handled (its processed record commits with its effect). */
  async function handled(events: EventEnvelope[]): Promise<void> {
    const n = await eventually(
      () => processed(events),
      (count) => count === events.length,
    );
    expect(n).to.equal(events.length);
  }

  const rankingRows = (scheduleId: string) =>
    db.query<{ sold_out_seconds: number; sold_out_at: Date; title: string; date: string }>(
      'SELECT sold_out_seconds, sold_out_at, title, date FROM sold_out_ranking WHERE schedule_id = ?',
      [scheduleId],
    );

  it('ranks a schedule once from 50 concurrent sales, each delivered twice, by its last sale', async () => {
    const date = '2031-02-01';
    await sell(date, seatNumbers, (seat) => (seat === LAST_SEAT ? LAST_SALE_MS : seat * 1000));
    const events = seatNumbers.map((seat) => saleOf(date, seat));
    await publishEvents(ctx.broker, [...events, ...events]);
    await handled(events);

    const rows = await rankingRows(scheduleOf[date]);
    expect(rows).to.have.length(1);
    expect(Number(rows[0].sold_out_seconds)).to.equal(3723);
    expect(rows[0].sold_out_at.getTime()).to.equal(OPENS_AT + LAST_SALE_MS);
    const { rankings } = await client.getRanking({ limit: 10 });
    expect(rankings).to.deep.equal([
      {
        rank: 1,
        concertId,
        scheduleId: scheduleOf[date],
        title: 'Gone in an hour',
        date,
        soldOutSeconds: 3723,
      },
    ]);
  });

  it('changes nothing for a redelivered event', async () => {
    const date = '2031-02-02';
    await sell(date, seatNumbers, (seat) => seat * 1000);
    const event = saleOf(date, 1);
    await publishEvents(ctx.broker, [event]);
    await handled([event]);
    expect(await rankingRows(scheduleOf[date])).to.have.length(1);

    // Were the repeat handled again, it would enter the schedule anew.
    await db.execute('DELETE FROM sold_out_ranking WHERE schedule_id = ?', [scheduleOf[date]]);
    const handler = rankingConsumer(db, ctx.config.events, ctx.log);
    await handler.handle(event);
    expect(await rankingRows(scheduleOf[date])).to.have.length(0);
    expect(await processed([event])).to.equal(1);
    // While a new event of the same sale does (the control).
    await handler.handle({ ...event, eventId: saleOf(date, 1).eventId });
    expect(await rankingRows(scheduleOf[date])).to.have.length(1);
  });

  it('does not rank a schedule with one seat unsold', async () => {
    const date = '2031-02-03';
    const sold = seatNumbers.filter((seat) => seat !== 50);
    await sell(date, sold, (seat) => seat * 1000);
    // Held, not sold: a payment still in progress.
    await db.execute(
      `UPDATE seat SET status = 'HELD', held_by = 'r-pending' WHERE schedule_id = ? AND seat_number = 50`,
      [scheduleOf[date]],
    );
    const events = sold.map((seat) => saleOf(date, seat));
    await publishEvents(ctx.broker, events);
    await handled(events);
    expect(await rankingRows(scheduleOf[date])).to.have.length(0);
  });

  it('waits for the last sale while its XA branch is still prepared', async () => {
    // In XA mode the reservation may commit (and its event be handled) before the concert
    // branch of the same payment: the consumer must then wait for that sale, not miss it.
    const date = '2031-02-04';
    await sell(date, seatNumbers.slice(0, -1), (seat) => seat * 1000);
    const reservationId = `r-${date}-${SEATS}`;
    await db.execute(
      `UPDATE seat SET status = 'HELD', held_by = ? WHERE schedule_id = ? AND seat_number = ?`,
      [reservationId, scheduleOf[date], SEATS],
    );
    const gid = `${runId()}-xa-last-sale`;
    await client.sellSeat(
      { seatId: `${scheduleOf[date]}-${SEATS}`, reservationId },
      asCoordinator(ctx.trust, xaContext(gid, 'concert', true)),
    );
    const event = saleOf(date, SEATS);
    try {
      await publishEvents(ctx.broker, [event]);
      await new Promise((r) => setTimeout(r, 500));
      expect(await processed([event])).to.equal(0); // still waiting on the prepared sale
    } finally {
      // Never leave the branch prepared: its locks would outlive the test.
      await phaseTwo(phase2, ctx.trust, gid, 'concert', 'commit');
    }
    await handled([event]);
    const rows = await rankingRows(scheduleOf[date]);
    expect(rows).to.have.length(1);
    expect(rows[0].sold_out_at.getTime()).to.be.greaterThan(Date.now() - 60_000); // the XA sale
  });
});
