// The real reservation server on a random port, called over the network as the gateway and
// the coordinator would; its expiry sweeper talks to a fake coordinator started here.
import {
  Server,
  ServerCredentials,
  status as Status,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceError,
} from '@grpc/grpc-js';
import { expect } from 'chai';
import {
  CoordinatorServiceService,
  type ExpireRequest,
  type ExpireResponse,
} from '../../gen/boxoffice/coordinator/v1/coordinator';
import { ParticipantServiceService } from '../../gen/boxoffice/participant/v1/participant';
import {
  ReservationServiceService,
  ReservationStatus,
} from '../../gen/boxoffice/reservation/v1/reservation';
import type { Config } from '../../lib/config';
import { createPool, Database, dropDatabase } from '../../lib/db';
import type { AsyncClient } from '../../lib/grpc/client';
import { newId } from '../../lib/ids';
import { testContext, type TestContext } from '../../test/support/context';
import { anonymous, asCoordinator, asUser } from '../../test/support/identity';
import { runId } from '../../test/support/infra';
import { refusal } from '../../test/support/refusals';
import { phaseTwo, sagaContext, xaContext } from '../../test/support/tx';
import { startReservation } from './main';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('reservation gRPC server', function () {
  this.timeout(30_000);
  let ctx: TestContext;
  let config: Config;
  let client: AsyncClient<typeof ReservationServiceService>;
  let participant: AsyncClient<typeof ParticipantServiceService>;
  let db: Database;
  let fakeCoordinator: Server;
  /** Every reservation id the sweeper asked the (fake) coordinator to expire, in order. */
  const expireCalls: string[] = [];

  const saga = (gid = newId(), op: 'action' | 'compensate' = 'action') =>
    asCoordinator(ctx.trust, sagaContext(gid, 'step', op));
  const xa = (gid: string, prepare: boolean) =>
    asCoordinator(ctx.trust, xaContext(gid, 'reservation', prepare));
  const as = (userId: string) => asUser(ctx.trust, { userId, role: 'user' });
  async function hold(userId = 'u1') {
    const reservationId = newId();
    await client.createHold(
      {
        reservationId,
        userId,
        concertId: 'c1',
        scheduleId: 's1',
        date: '2030-12-24',
        seatNumber: 4,
        seatId: 's1-4',
        price: 9000,
      },
      saga(),
    );
    return reservationId;
  }
  const statusOf = async (id: string) =>
    (await db.query<{ status: string }>('SELECT status FROM reservation WHERE id = ?', [id]))[0]
      ?.status;

  /** A coordinator that only runs the reservation's half of the Expire flow. */
  async function startFakeCoordinator(): Promise<number> {
    fakeCoordinator = new Server();
    fakeCoordinator.addService(CoordinatorServiceService, {
      expire(
        call: ServerUnaryCall<ExpireRequest, ExpireResponse>,
        done: sendUnaryData<ExpireResponse>,
      ) {
        expireCalls.push(call.request.reservationId);
        client.expire({ reservationId: call.request.reservationId }, saga()).then(
          () => done(null, { expired: true }),
          (err: ServiceError) => done(err, null),
        );
      },
    });
    return new Promise((resolve, reject) =>
      fakeCoordinator.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
  }

  before(async () => {
    const coordinatorPort = await startFakeCoordinator();
    ctx = await testContext({
      RESERVATION_GRPC_PORT: '0',
      COORDINATOR_GRPC_TARGET: `127.0.0.1:${coordinatorPort}`,
      DB_NAME_PREFIX: `${runId()}_`,
      RESERVATION_HOLD_SECONDS: '300',
      RESERVATION_SWEEP_INTERVAL_MS: '100',
    });
    config = ctx.config;
    const port = await startReservation(ctx);
    client = ctx.clientAt(ReservationServiceService, port, 'coordinator');
    participant = ctx.clientAt(ParticipantServiceService, port, 'coordinator');
    db = new Database(createPool(config.db.reservation), config.db.reservation.database);
  });

  after(async () => {
    await ctx.stop();
    fakeCoordinator.forceShutdown();
    await db.close();
    await dropDatabase(config.db.reservation);
  });

  it('shows the owner a reservation, PAYING as HELD, and its payment once confirmed', async () => {
    const id = await hold();
    const paymentId = newId();
    const began = await client.beginPayment({ reservationId: id, userId: 'u1', paymentId }, saga());
    expect(began.seatId).to.equal('s1-4');
    expect(began.reservation?.status).to.equal(ReservationStatus.PAYING);

    const { reservation } = await client.getReservation({ reservationId: id }, as('u1'));
    expect(reservation?.status).to.equal(ReservationStatus.HELD);
    expect(reservation?.paymentId).to.equal(undefined);
    expect(reservation?.expiresAt).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    await client.confirm({ reservationId: id, paymentId }, saga());
    const after = await client.getReservation({ reservationId: id }, as('u1'));
    expect(after.reservation).to.deep.include({
      reservationId: id,
      concertId: 'c1',
      scheduleId: 's1',
      date: '2030-12-24',
      seatNumber: 4,
      price: 9000,
      status: ReservationStatus.CONFIRMED,
      paymentId,
    });
  });

  it('answers RESERVATION_NOT_FOUND (404) to anyone but the owner, UNAUTHENTICATED without identity, PERMISSION_DENIED to another service', async () => {
    const id = await hold();
    const notFound = { code: Status.NOT_FOUND, reason: 'RESERVATION_NOT_FOUND' };
    expect(await refusal(client.getReservation({ reservationId: id }, as('u2')))).to.deep.equal(
      notFound,
    );
    expect(
      await refusal(client.getReservation({ reservationId: newId() }, as('u1'))),
    ).to.deep.equal(notFound);
    expect(await refusal(client.getReservation({ reservationId: id }, anonymous()))).to.deep.equal({
      code: Status.UNAUTHENTICATED,
      reason: 'UNAUTHENTICATED',
    });
    // This client's own identity is the coordinator's: it may not read reservations.
    expect(await refusal(client.getReservation({ reservationId: id }))).to.deep.equal({
      code: Status.PERMISSION_DENIED,
      reason: 'PERMISSION_DENIED',
    });
  });

  it('carries refusals with their reason and status code', async () => {
    const id = await hold();
    await client.beginPayment({ reservationId: id, userId: 'u1', paymentId: newId() }, saga());
    expect(
      await refusal(
        client.beginPayment({ reservationId: id, userId: 'u1', paymentId: newId() }, saga()),
      ),
    ).to.deep.equal({ code: Status.ALREADY_EXISTS, reason: 'RESERVATION_ALREADY_PAID' });
    expect(
      await refusal(client.confirm({ reservationId: id, paymentId: newId() }, saga())),
    ).to.deep.equal({
      code: Status.ABORTED,
      reason: 'BRANCH_REFUSED',
    });
  });

  it('commits a prepared XA branch through the ParticipantService, and rolls a refused one back', async () => {
    const gid = newId();
    const reservationId = newId();
    const request = {
      reservationId,
      userId: 'u1',
      concertId: 'c1',
      scheduleId: 's1',
      date: '2030-12-24',
      seatNumber: 5,
      seatId: 's1-5',
      price: 9000,
    };
    await client.createHold(request, xa(gid, true));
    expect(await statusOf(reservationId)).to.equal(undefined);
    await phaseTwo(participant, ctx.trust, gid, 'reservation', 'commit');
    await phaseTwo(participant, ctx.trust, gid, 'reservation', 'commit'); // phase 2 repeated: done already
    expect(await statusOf(reservationId)).to.equal('HELD');

    const gid2 = newId();
    const other = { ...request, reservationId: newId() };
    await client.createHold(other, xa(gid2, false));
    expect(
      await refusal(
        client.beginPayment(
          { reservationId: other.reservationId, userId: 'u2', paymentId: newId() },
          xa(gid2, true),
        ),
      ),
    ).to.deep.equal({ code: Status.NOT_FOUND, reason: 'RESERVATION_NOT_FOUND' });
    await phaseTwo(participant, ctx.trust, gid2, 'reservation', 'rollback');
    expect(await statusOf(other.reservationId)).to.equal(undefined);
  });

  it('has the coordinator expire exactly the overdue HELD holds, never a PAYING one', async () => {
    const [a, b, payingId, fresh] = [await hold(), await hold(), await hold(), await hold()];
    await client.beginPayment(
      { reservationId: payingId, userId: 'u1', paymentId: newId() },
      saga(),
    );
    await db.execute('UPDATE reservation SET expires_at = ? WHERE id IN (?, ?, ?)', [
      new Date(Date.now() - 60_000),
      a,
      b,
      payingId,
    ]);
    for (let waited = 0; waited < 5000; waited += 50) {
      if ((await statusOf(a)) === 'EXPIRED' && (await statusOf(b)) === 'EXPIRED') break;
      await sleep(50);
    }
    await sleep(400); // a few more sweeps, which must find nothing more
    const mine = new Set([a, b, payingId, fresh]);
    expect(expireCalls.filter((id) => mine.has(id)).sort()).to.deep.equal([a, b].sort());
    expect(await statusOf(a)).to.equal('EXPIRED');
    expect(await statusOf(payingId)).to.equal('PAYING');
    expect(await statusOf(fresh)).to.equal('HELD');
  });
});
