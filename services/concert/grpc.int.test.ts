// The real concert server on a random port, called over the network as the gateway would.
import { status as Status } from '@grpc/grpc-js';
import { expect } from 'chai';
import { ConcertServiceService, SeatStatus } from '../../gen/boxoffice/concert/v1/concert';
import type { Config } from '../../lib/config';
import { dropDatabase } from '../../lib/db';
import type { AsyncClient } from '../../lib/grpc/client';
import type { EndUser } from '../../lib/trust/caller';
import { testContext, type TestContext } from '../../test/support/context';
import { asCoordinator, asUser } from '../../test/support/identity';
import { sagaContext } from '../../test/support/tx';
import { runId } from '../../test/support/infra';
import { refusalWithMetadata } from '../../test/support/refusals';
import { DEMO_CONCERT_ID } from './catalog';
import { startConcert } from './main';

describe('concert gRPC server', function () {
  this.timeout(30_000);
  let ctx: TestContext;
  let config: Config;
  let client: AsyncClient<typeof ConcertServiceService>;

  const as = (user: EndUser) => asUser(ctx.trust, user);

  before(async () => {
    ctx = await testContext({
      CONCERT_GRPC_PORT: '0',
      DB_NAME_PREFIX: `${runId()}_`,
      SEED: 'demo',
    });
    config = ctx.config;
    const port = await startConcert(ctx);
    client = ctx.clientAt(ConcertServiceService, port, 'gateway');
  });

  after(async () => {
    await ctx.stop();
    await dropDatabase(config.db.concert);
  });

  it('refuses to create a concert for a caller who is not an admin (ADMIN_ONLY)', async () => {
    const request = { title: 'Not yours', dates: ['2030-12-24'], price: 10000 };
    expect(
      await refusalWithMetadata(client.createConcert(request, as({ userId: 'u1', role: 'user' }))),
    ).to.deep.equal({
      code: Status.PERMISSION_DENIED,
      reason: 'ADMIN_ONLY',
      metadata: {},
    });
    expect(await refusalWithMetadata(client.createConcert(request))).to.deep.include({
      code: Status.UNAUTHENTICATED,
      reason: 'UNAUTHENTICATED',
    });
  });

  it('creates a concert for an admin and serves its dates and seats', async () => {
    const admin = as({ userId: 'boss', role: 'admin' });
    const created = await client.createConcert(
      { title: 'Over the wire', dates: ['2099-01-02', '2099-01-01'], seatsPerDate: 3, price: 7000 },
      admin,
    );
    expect(created.title).to.equal('Over the wire');
    expect(created.schedules.map((s) => [s.date, s.totalSeats])).to.deep.equal([
      ['2099-01-01', 3],
      ['2099-01-02', 3],
    ]);
    const { concerts } = await client.listConcerts({});
    expect(concerts.map((c) => c.concertId)).to.include.members([
      DEMO_CONCERT_ID,
      created.concertId,
    ]);

    const user = as({ userId: 'u1', role: 'user' });
    const { dates } = await client.listDates({ concertId: created.concertId }, user);
    expect(dates.map((d) => [d.date, d.availableSeats, d.totalSeats])).to.deep.equal([
      ['2099-01-01', 3, 3],
      ['2099-01-02', 3, 3],
    ]);
    const seats = await client.listSeats(
      { concertId: created.concertId, date: '2099-01-02' },
      user,
    );
    expect(seats.scheduleId).to.equal(created.schedules[1].scheduleId);
    expect(seats.seats.map((s) => [s.seatNumber, s.price, s.status])).to.deep.equal([
      [1, 7000, SeatStatus.AVAILABLE],
      [2, 7000, SeatStatus.AVAILABLE],
      [3, 7000, SeatStatus.AVAILABLE],
    ]);
  });

  it('names the field of an invalid request, and the reason of an unknown concert or date', async () => {
    const admin = as({ userId: 'boss', role: 'admin' });
    expect(
      await refusalWithMetadata(
        client.createConcert(
          { title: 'x', dates: ['2030-12-24'], price: 10000, seatsPerDate: 501 },
          admin,
        ),
      ),
    ).to.deep.include({
      code: Status.INVALID_ARGUMENT,
      reason: 'INVALID_ARGUMENT',
      metadata: { field: 'seatsPerDate' },
    });
    expect(
      await refusalWithMetadata(client.listDates({ concertId: 'nope' }, admin)),
    ).to.deep.include({
      code: Status.NOT_FOUND,
      reason: 'CONCERT_NOT_FOUND',
    });
    expect(
      await refusalWithMetadata(
        client.listSeats({ concertId: DEMO_CONCERT_ID, date: '1999-01-01' }, admin),
      ),
    ).to.deep.include({
      code: Status.NOT_FOUND,
      reason: 'SCHEDULE_NOT_FOUND',
    });
    expect(await refusalWithMetadata(client.getRanking({ limit: 0 }))).to.deep.include({
      reason: 'INVALID_ARGUMENT',
      metadata: { field: 'limit' },
    });
    expect(await client.getRanking({})).to.deep.equal({ rankings: [] });
  });

  it('serves the booking branches to the coordinator only, with their refusal reasons', async () => {
    const hold = {
      concertId: DEMO_CONCERT_ID,
      date: '2030-01-01',
      seatNumber: 1,
      reservationId: 'r1',
    };
    // booking.int.test.ts has the rest of the branches' refusals.
    expect(
      await refusalWithMetadata(
        client.holdSeat(hold, asCoordinator(ctx.trust, sagaContext('g-grpc', 'hold-seat'))),
      ),
    ).to.deep.include({ code: Status.NOT_FOUND, reason: 'SCHEDULE_NOT_FOUND' });
    // The gateway (this client's identity) may not run a branch.
    expect(await refusalWithMetadata(client.holdSeat(hold))).to.deep.include({
      code: Status.PERMISSION_DENIED,
      reason: 'PERMISSION_DENIED',
    });
  });
});
