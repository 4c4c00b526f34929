// The booking branches over the wire, against the real concert server and MariaDB: saga
// actions and compensations behind the barrier, XA branches with phase 2 through the
// ParticipantService, and local calls — with the hot-seat race in both modes.
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import { expect } from 'chai';
import { ConcertServiceService } from '../../gen/boxoffice/concert/v1/concert';
import { ParticipantServiceService } from '../../gen/boxoffice/participant/v1/participant';
import type { Config } from '../../lib/config';
import { createPool, Database, dropDatabase } from '../../lib/db';
import type { AsyncClient } from '../../lib/grpc/client';
import { errorDetail } from '../../lib/grpc/status';
import { testContext, type TestContext } from '../../test/support/context';
import { asCoordinator, asService, asUser } from '../../test/support/identity';
import { runId } from '../../test/support/infra';
import { refusal } from '../../test/support/refusals';
import { phaseTwo, preparedGids, sagaContext, xaContext } from '../../test/support/tx';
import { startConcert } from './main';

const DATES = ['2099-03-01', '2099-03-02', '2099-03-03', '2099-03-04', '2099-03-05'];

describe('concert booking branches (gRPC, real MariaDB)', function () {
  this.timeout(60_000);
  const tag = runId();
  let ctx: TestContext;
  let config: Config;
  let db: Database;
  let client: AsyncClient<typeof ConcertServiceService>;
  let phase2: AsyncClient<typeof ParticipantServiceService>;
  let concertId: string;
  let scheduleOf: Record<string, string>;
  let gids = 0;

  const newGid = (label: string) => `${tag}-${label}-${++gids}`;
  const saga = (gid: string, branchId: string, op: 'action' | 'compensate' = 'action') =>
    asCoordinator(ctx.trust, sagaContext(gid, branchId, op));
  const xa = (gid: string) => asCoordinator(ctx.trust, xaContext(gid, 'concert', true));
  /** Phase 2 of the concert's branch of gid, as the coordinator sends it. */
  const finish = (gid: string, op: 'commit' | 'rollback') =>
    phaseTwo(phase2, ctx.trust, gid, 'concert', op);
  /** XA branches still prepared in the concert database. */
  const preparedBranches = () => preparedGids(db, config.db.concert.database);

  async function seat(date: string, seatNumber: number) {
    const [row] = await db.query<{ status: string; held_by: string | null }>(
      'SELECT status, held_by FROM seat WHERE schedule_id = ? AND seat_number = ?',
      [scheduleOf[date], seatNumber],
    );
    return { status: row.status, heldBy: row.held_by };
  }

  const hold = (date: string, seatNumber: number, reservationId: string) => ({
    concertId,
    date,
    seatNumber,
    reservationId,
  });
  const seatIdOf = (date: string, seatNumber: number) => `${scheduleOf[date]}-${seatNumber}`;

  before(async () => {
    ctx = await testContext({ CONCERT_GRPC_PORT: '0', DB_NAME_PREFIX: `${tag}_` }, 20_000);
    config = ctx.config;
    const port = await startConcert(ctx);
    const coordinator = ctx.trust.signer('coordinator');
    client = ctx.channels.client(ConcertServiceService, `127.0.0.1:${port}`, coordinator);
    phase2 = ctx.channels.client(ParticipantServiceService, `127.0.0.1:${port}`, coordinator);
    db = new Database(
      createPool({ ...config.db.concert, poolSize: 2 }),
      config.db.concert.database,
    );
    const admin = asUser(ctx.trust, { userId: 'boss', role: 'admin' });
    const created = await client.createConcert(
      { title: 'Hot seats', dates: DATES, seatsPerDate: 5, price: 7000 },
      admin,
    );
    concertId = created.concertId;
    scheduleOf = Object.fromEntries(created.schedules.map((s) => [s.date, s.scheduleId]));
    // Booking not open yet, and a date already past (booking open, day over).
    await client.createConcert(
      {
        title: 'Later',
        dates: ['2099-04-01'],
        seatsPerDate: 1,
        price: 1,
        bookingOpensAt: '2098-01-01T00:00:00Z',
      },
      admin,
    );
    await client.createConcert(
      { title: 'Past', dates: ['2001-01-01'], seatsPerDate: 1, price: 1 },
      admin,
    );
  });

  after(async () => {
    await ctx.stop();
    await db.close();
    await dropDatabase(config.db.concert);
  });

  describe('the hot seat', () => {
    it('lets exactly one of 100 concurrent saga holds win; the rest are SEAT_UNAVAILABLE', async () => {
      const date = DATES[0];
      const outcomes = await Promise.allSettled(
        Array.from({ length: 100 }, (_, i) =>
          client.holdSeat(hold(date, 1, `r-saga-${i}`), saga(newGid('hot'), 'hold-seat')),
        ),
      );
      const won = outcomes.flatMap((o, i) =>
        o.status === 'fulfilled' ? [{ i, res: o.value }] : [],
      );
      expect(won).to.have.length(1);
      expect(won[0].res).to.deep.equal({
        seatId: seatIdOf(date, 1),
        scheduleId: scheduleOf[date],
        price: 7000,
      });
      for (const o of outcomes) {
        if (o.status === 'rejected') {
          expect(errorDetail(o.reason as ServiceError)).to.deep.include({
            code: Status.ABORTED,
            reason: 'SEAT_UNAVAILABLE',
          });
        }
      }
      expect(await seat(date, 1)).to.deep.equal({ status: 'HELD', heldBy: `r-saga-${won[0].i}` });
      // A refused action leaves no barrier row, so only the winner's branch is recorded.
      const [barrier] = await db.query<{ n: number }>(
        `SELECT COUNT(*) AS n FROM tx_barrier WHERE gid LIKE ?`,
        [`${tag}-hot-%`],
      );
      expect(Number(barrier.n)).to.equal(1);
    });

    it('lets exactly one of 100 concurrent XA holds prepare; the rest are told the seat is busy, quickly', async () => {
      const date = DATES[1];
      const gidOf = Array.from({ length: 100 }, () => newGid('xa'));
      const started = Date.now();
      const outcomes = await Promise.allSettled(
        gidOf.map((gid, i) => client.holdSeat(hold(date, 1, `r-xa-${i}`), xa(gid))),
      );
      const elapsed = Date.now() - started;
      const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
      expect(won).to.have.length(1);
      // While the winner's branch holds the row the seat still reads AVAILABLE: nothing proves
      // a loser lost yet (the winner may roll back), so each is told to try again.
      for (const o of outcomes) {
        if (o.status === 'rejected') {
          expect(errorDetail(o.reason as ServiceError)).to.deep.include({
            code: Status.UNAVAILABLE,
            reason: 'UNAVAILABLE',
          });
        }
      }
      // Each loser waits at most the 1 s lock wait timeout for its turn on the row (the XA
      // pool runs 20 branches at a time), not the server's default 50 s.
      expect(elapsed).to.be.below(20_000);
      // Prepared, not committed: nobody else sees the hold yet.
      expect(await seat(date, 1)).to.deep.equal({ status: 'AVAILABLE', heldBy: null });
      await finish(gidOf[won[0]], 'commit');
      await finish(gidOf[won[0]], 'commit'); // repeated: done already
      expect(await seat(date, 1)).to.deep.equal({ status: 'HELD', heldBy: `r-xa-${won[0]}` });
      expect(await preparedBranches()).to.deep.equal([]);
      // Once it committed, a retry learns the seat is taken.
      expect(
        errorDetail(
          (await client
            .holdSeat(hold(date, 1, 'r-xa-late'), xa(newGid('xa')))
            .catch((err: unknown) => err)) as ServiceError,
        ),
      ).to.deep.include({ code: Status.ABORTED, reason: 'SEAT_UNAVAILABLE' });
    });

    it('rolls back a prepared XA hold through the participant service', async () => {
      const date = DATES[1];
      const gid = newGid('xa-rb');
      await client.holdSeat(hold(date, 2, 'r-xa-rb'), xa(gid));
      await finish(gid, 'rollback');
      expect(await seat(date, 2)).to.deep.equal({ status: 'AVAILABLE', heldBy: null });
      expect(await preparedBranches()).to.deep.equal([]);
    });
  });

  describe('refusals', () => {
    it('names an unknown concert, date or seat, a closed booking window and a taken seat', async () => {
      const g = () => saga(newGid('refuse'), 'hold-seat');
      const notFound = (reason: string) => ({ code: Status.NOT_FOUND, reason });
      expect(
        await refusal(client.holdSeat({ ...hold(DATES[2], 1, 'r'), concertId: 'nope' }, g())),
      ).to.deep.equal(notFound('SCHEDULE_NOT_FOUND'));
      expect(await refusal(client.holdSeat(hold('2099-12-31', 1, 'r'), g()))).to.deep.equal(
        notFound('SCHEDULE_NOT_FOUND'),
      );
      expect(await refusal(client.holdSeat(hold('2099-02-30', 1, 'r'), g()))).to.deep.equal(
        notFound('SCHEDULE_NOT_FOUND'),
      );
      for (const n of [0, 6, -1]) {
        expect(
          await refusal(client.holdSeat(hold(DATES[2], n, 'r'), g())),
          String(n),
        ).to.deep.equal(notFound('SEAT_NOT_FOUND'));
      }
      const { concerts } = await client.listConcerts({}, asService(ctx.trust, 'gateway'));
      const idOf = (title: string) => concerts.find((c) => c.title === title)!.concertId;
      const closed = { code: Status.FAILED_PRECONDITION, reason: 'BOOKING_CLOSED' };
      expect(
        await refusal(
          client.holdSeat({ ...hold('2099-04-01', 1, 'r'), concertId: idOf('Later') }, g()),
        ),
      ).to.deep.equal(closed);
      expect(
        await refusal(
          client.holdSeat({ ...hold('2001-01-01', 1, 'r'), concertId: idOf('Past') }, g()),
        ),
      ).to.deep.equal(closed);
      expect(await refusal(client.holdSeat(hold(DATES[2], 1, ''), g()))).to.deep.equal({
        code: Status.INVALID_ARGUMENT,
        reason: 'INVALID_ARGUMENT',
      });

      await client.holdSeat(hold(DATES[2], 1, 'r-first'), g());
      expect(await refusal(client.holdSeat(hold(DATES[2], 1, 'r-second'), g()))).to.deep.equal({
        code: Status.ABORTED,
        reason: 'SEAT_UNAVAILABLE',
      });
      // The same reservation asking again in another transaction is refused too.
      expect(await refusal(client.holdSeat(hold(DATES[2], 1, 'r-first'), g()))).to.deep.equal({
        code: Status.ABORTED,
        reason: 'SEAT_UNAVAILABLE',
      });
      expect(await seat(DATES[2], 1)).to.deep.equal({ status: 'HELD', heldBy: 'r-first' });
      expect(await seat(DATES[2], 2)).to.deep.equal({ status: 'AVAILABLE', heldBy: null });
    });

    it('refuses, in CheckHold, what a hold would refuse right now, and writes nothing', async () => {
      const date = DATES[2];
      const check = (req: { concertId?: string; date: string; seatNumber: number }) =>
        client.checkHold({ concertId, ...req });
      const barrierRows = async () =>
        Number((await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM tx_barrier'))[0].n);
      const barrierBefore = await barrierRows();
      const { concerts } = await client.listConcerts({}, asService(ctx.trust, 'gateway'));
      const later = concerts.find((c) => c.title === 'Later')!.concertId;
      expect(await refusal(check({ concertId: 'nope', date, seatNumber: 1 }))).to.deep.equal({
        code: Status.NOT_FOUND,
        reason: 'SCHEDULE_NOT_FOUND',
      });
      expect(await refusal(check({ date: '2099-02-30', seatNumber: 1 }))).to.deep.equal({
        code: Status.NOT_FOUND,
        reason: 'SCHEDULE_NOT_FOUND',
      });
      expect(await refusal(check({ date, seatNumber: 6 }))).to.deep.equal({
        code: Status.NOT_FOUND,
        reason: 'SEAT_NOT_FOUND',
      });
      expect(
        await refusal(check({ concertId: later, date: '2099-04-01', seatNumber: 1 })),
      ).to.deep.equal({ code: Status.FAILED_PRECONDITION, reason: 'BOOKING_CLOSED' });

      expect(await check({ date, seatNumber: 4 })).to.deep.equal({});
      await client.holdSeat(hold(date, 4, 'r-guarded'), saga(newGid('guard'), 'hold-seat'));
      expect(await refusal(check({ date, seatNumber: 4 }))).to.deep.equal({
        code: Status.ABORTED,
        reason: 'SEAT_UNAVAILABLE',
      });
      // Only the hold wrote: its barrier row and its seat.
      expect(await barrierRows()).to.equal(barrierBefore + 1);
      expect(await seat(date, 4)).to.deep.equal({ status: 'HELD', heldBy: 'r-guarded' });
      expect(await seat(date, 5)).to.deep.equal({ status: 'AVAILABLE', heldBy: null });
    });

    it('answers a malformed or unknown seat id with SEAT_NOT_FOUND', async () => {
      const notFound = { code: Status.NOT_FOUND, reason: 'SEAT_NOT_FOUND' };
      for (const seatId of [
        '',
        'nodash',
        `${scheduleOf[DATES[2]]}-0`,
        `${scheduleOf[DATES[2]]}-x`,
      ]) {
        const req = { seatId, reservationId: 'r' };
        expect(await refusal(client.sellSeat(req, saga(newGid('bad'), 's'))), seatId).to.deep.equal(
          notFound,
        );
        expect(
          await refusal(client.releaseSeat(req, saga(newGid('bad'), 'r'))),
          seatId,
        ).to.deep.equal(notFound);
      }
      expect(
        await refusal(
          client.sellSeat(
            { seatId: `${scheduleOf[DATES[2]]}-99`, reservationId: 'r' },
            saga(newGid('bad'), 's'),
          ),
        ),
      ).to.deep.equal(notFound);
      expect(
        await refusal(
          client.sellSeat(
            { seatId: 'nosuchschedule-1', reservationId: 'r' },
            saga(newGid('bad'), 's'),
          ),
        ),
      ).to.deep.equal(notFound);
    });
  });

  describe('the saga barrier', () => {
    it('runs a duplicate hold once and returns the first result to every copy', async () => {
      const gid = newGid('dup');
      const results = await Promise.all(
        [1, 2, 3].map(() => client.holdSeat(hold(DATES[3], 1, 'r-dup'), saga(gid, 'hold-seat'))),
      );
      const later = await client.holdSeat(hold(DATES[3], 1, 'r-dup'), saga(gid, 'hold-seat'));
      const first = {
        seatId: seatIdOf(DATES[3], 1),
        scheduleId: scheduleOf[DATES[3]],
        price: 7000,
      };
      expect([...results, later]).to.deep.equal([first, first, first, first]);
      expect(await seat(DATES[3], 1)).to.deep.equal({ status: 'HELD', heldBy: 'r-dup' });
    });

    it('undoes a hold as its compensation, once, from the action result', async () => {
      const gid = newGid('comp');
      await client.holdSeat(hold(DATES[3], 2, 'r-comp'), saga(gid, 'hold-seat'));
      // A compensation carries ids only: the action's stored result names the seat.
      const undo = { reservationId: 'r-comp' };
      await client.unholdSeat(undo, saga(gid, 'hold-seat', 'compensate'));
      expect(await seat(DATES[3], 2)).to.deep.equal({ status: 'AVAILABLE', heldBy: null });
      // Someone else holds it now; a repeated compensation must not touch their hold.
      await client.holdSeat(hold(DATES[3], 2, 'r-next'), saga(newGid('comp'), 'hold-seat'));
      await client.unholdSeat(undo, saga(gid, 'hold-seat', 'compensate'));
      expect(await seat(DATES[3], 2)).to.deep.equal({ status: 'HELD', heldBy: 'r-next' });
    });

    it('lets a compensation before its action do nothing, and refuses that action later', async () => {
      const gid = newGid('early');
      await client.unholdSeat({ reservationId: 'r-early' }, saga(gid, 'hold-seat', 'compensate'));
      expect(
        await refusal(client.holdSeat(hold(DATES[3], 3, 'r-early'), saga(gid, 'hold-seat'))),
      ).to.deep.equal({ code: Status.ABORTED, reason: 'BRANCH_REFUSED' });
      expect(await seat(DATES[3], 3)).to.deep.equal({ status: 'AVAILABLE', heldBy: null });
    });
  });

  describe('selling and releasing', () => {
    const date = DATES[4];

    it('sells a seat held by the reservation, and refuses any other sale', async () => {
      await client.holdSeat(hold(date, 1, 'r-pay'), saga(newGid('pay'), 'hold-seat'));
      const unavailable = { code: Status.ABORTED, reason: 'SEAT_UNAVAILABLE' };
      expect(
        await refusal(
          client.sellSeat(
            { seatId: seatIdOf(date, 1), reservationId: 'r-other' },
            saga(newGid('pay'), 'sell-seat'),
          ),
        ),
      ).to.deep.equal(unavailable);
      expect(
        await refusal(
          client.sellSeat(
            { seatId: seatIdOf(date, 2), reservationId: 'r-pay' },
            saga(newGid('pay'), 'sell-seat'),
          ),
        ),
      ).to.deep.equal(unavailable);

      const gid = newGid('pay');
      const sell = { seatId: seatIdOf(date, 1), reservationId: 'r-pay' };
      expect(await client.sellSeat(sell, saga(gid, 'sell-seat'))).to.deep.equal({});
      expect(await client.sellSeat(sell, saga(gid, 'sell-seat'))).to.deep.equal({}); // duplicate
      expect(await seat(date, 1)).to.deep.equal({ status: 'SOLD', heldBy: 'r-pay' });
      // Sold already: another payment of the same reservation is refused.
      expect(await refusal(client.sellSeat(sell, saga(newGid('pay'), 'sell-seat')))).to.deep.equal(
        unavailable,
      );

      // Unsell is only ever a compensation, and undoes exactly the sale of its action.
      expect(
        await refusal(
          client.unsellSeat({ reservationId: 'r-pay' }, saga(newGid('pay'), 'sell-seat')),
        ),
      ).to.deep.equal({ code: Status.INVALID_ARGUMENT, reason: 'INVALID_ARGUMENT' });
      const undo = { reservationId: 'r-pay' };
      await client.unsellSeat(undo, saga(gid, 'sell-seat', 'compensate'));
      expect(await seat(date, 1)).to.deep.equal({ status: 'HELD', heldBy: 'r-pay' });
      await client.unsellSeat(undo, saga(gid, 'sell-seat', 'compensate'));
      expect(await seat(date, 1)).to.deep.equal({ status: 'HELD', heldBy: 'r-pay' });
      // An unsell that arrives before its sale does nothing, and the sale is refused later.
      const early = newGid('pay');
      await client.unsellSeat(undo, saga(early, 'sell-seat', 'compensate'));
      expect(await refusal(client.sellSeat(sell, saga(early, 'sell-seat')))).to.deep.equal({
        code: Status.ABORTED,
        reason: 'BRANCH_REFUSED',
      });
      expect(await seat(date, 1)).to.deep.equal({ status: 'HELD', heldBy: 'r-pay' });
    });

    it('releases a HELD seat forward (Expire), repeatedly without complaint', async () => {
      await client.holdSeat(hold(date, 2, 'r-expire'), saga(newGid('exp'), 'hold-seat'));
      const release = { seatId: seatIdOf(date, 2), reservationId: 'r-expire' };
      // Another reservation's release leaves the hold alone, and still succeeds.
      await client.releaseSeat(
        { ...release, reservationId: 'r-other' },
        saga(newGid('exp'), 'release-seat'),
      );
      expect(await seat(date, 2)).to.deep.equal({ status: 'HELD', heldBy: 'r-expire' });
      const gid = newGid('exp');
      await client.releaseSeat(release, saga(gid, 'release-seat'));
      expect(await seat(date, 2)).to.deep.equal({ status: 'AVAILABLE', heldBy: null });
      await client.releaseSeat(release, saga(gid, 'release-seat'));
      await client.releaseSeat(release, saga(newGid('exp'), 'release-seat'));
      // Without a transaction context no one, not even the coordinator, runs a branch.
      expect(await refusal(client.releaseSeat(release))).to.deep.equal({
        code: Status.UNAUTHENTICATED,
        reason: 'UNAUTHENTICATED',
      });
      expect(await seat(date, 2)).to.deep.equal({ status: 'AVAILABLE', heldBy: null });
    });

    it('releases a SOLD seat forward (Refund), in saga and XA mode', async () => {
      for (const [n, mode] of [
        [3, 'saga'],
        [4, 'xa'],
      ] as const) {
        const r = `r-refund-${mode}`;
        await client.holdSeat(hold(date, n, r), saga(newGid('ref'), 'hold-seat'));
        await client.sellSeat(
          { seatId: seatIdOf(date, n), reservationId: r },
          saga(newGid('ref'), 'sell-seat'),
        );
        expect(await seat(date, n)).to.deep.equal({ status: 'SOLD', heldBy: r });
        const release = { seatId: seatIdOf(date, n), reservationId: r };
        if (mode === 'saga') {
          await client.releaseSeat(release, saga(newGid('ref'), 'release-seat'));
        } else {
          const gid = newGid('ref');
          await client.releaseSeat(release, xa(gid));
          await finish(gid, 'commit');
        }
        expect(await seat(date, n), mode).to.deep.equal({ status: 'AVAILABLE', heldBy: null });
        await client.releaseSeat(release, saga(newGid('ref'), 'release-seat'));
        expect(await seat(date, n), mode).to.deep.equal({ status: 'AVAILABLE', heldBy: null });
      }
      expect(await preparedBranches()).to.deep.equal([]);
    });
  });
});
