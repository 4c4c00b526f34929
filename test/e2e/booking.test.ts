// The cross-service suite: reserve, pay, refund and expire through the gateway, with exact
// counts under concurrency. It runs once per TX_MODE and ends with the auditor's invariants.
import { expect } from 'chai';
import {
  CoordinatorServiceService,
  ListTransactionsRequest,
  TxState,
} from '../../gen/boxoffice/coordinator/v1/coordinator';
import { ChannelPool } from '../../lib/grpc/client';
import { scrape, valueOf } from '../support/metrics';
import { freePort, startMesh, type Mesh } from '../support/mesh';
import {
  Person,
  createConcert,
  eventually,
  isoDay,
  reason,
  sql,
  auditAndDestroy,
} from '../support/people';

for (const mode of ['saga', 'xa'] as const) {
  describe(`booking flows (TX_MODE=${mode})`, function () {
    this.timeout(180_000);
    let mesh: Mesh;
    let concertId: string;
    const day = isoDay(7);
    let seatCursor = 0;
    const nextSeat = () => ++seatCursor;

    let metricsUrl: string;

    before(async () => {
      const metricsPort = await freePort();
      metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
      mesh = await startMesh({ TX_MODE: mode, METRICS_PORT: String(metricsPort) });
      concertId = await createConcert(mesh, {
        title: `Flows ${mode}`,
        dates: [day],
        seatsPerDate: 200,
        price: 2000,
      });
    });
    after(() => auditAndDestroy(mesh));

    describe('reserve', () => {
      it('holds a seat for the caller and shows it HELD', async () => {
        const ann = await Person.join(mesh, `ann-${mode}`);
        const seat = nextSeat();
        const res = await ann.reserve(concertId, day, seat);
        expect(res.status, JSON.stringify(res.body)).to.equal(201);
        expect(res.body).to.include({
          concertId,
          date: day,
          seatNumber: seat,
          price: 2000,
          status: 'HELD',
        });
        expect(res.body.reservationId).to.be.a('string');
        expect(res.body.scheduleId).to.be.a('string');
        const ttl = new Date(res.body.expiresAt).getTime() - Date.now();
        expect(ttl).to.be.within(290_000, 301_000);
        const got = await ann.reservation(res.body.reservationId);
        expect(got.status).to.equal(200);
        expect(got.body).to.include({ reservationId: res.body.reservationId, status: 'HELD' });
        expect(got.body).to.not.have.property('paymentId');
        expect(
          (await ann.seats(concertId, day)).find((s) => s.seatNumber === seat)!.status,
        ).to.equal('HELD');
        const bob = await Person.join(mesh, `bob-${mode}`);
        const foreign = await bob.reservation(res.body.reservationId);
        expect([foreign.status, reason(foreign)]).to.deep.equal([404, 'RESERVATION_NOT_FOUND']);
      });

      it('answers every refusal with its reason and holds nothing', async () => {
        const cat = await Person.join(mesh, `cat-${mode}`);
        const closed = await createConcert(mesh, {
          title: 'Later',
          dates: [isoDay(30)],
          price: 100,
          bookingOpensAt: new Date(Date.now() + 86_400_000).toISOString(),
        });
        const seat = nextSeat();
        await (await Person.join(mesh, `dan-${mode}`)).reserve(concertId, day, seat);
        const cases: [
          Promise<ReturnType<typeof cat.reserve> extends Promise<infer R> ? R : never>,
          number,
          string,
        ][] = [
          [cat.reserve('no-such-concert', day, 1), 404, 'SCHEDULE_NOT_FOUND'],
          [cat.reserve(concertId, isoDay(8), 1), 404, 'SCHEDULE_NOT_FOUND'],
          [cat.reserve(concertId, day, 999), 404, 'SEAT_NOT_FOUND'],
          [cat.reserve(closed, isoDay(30), 1), 400, 'BOOKING_CLOSED'],
          [cat.reserve(concertId, day, seat), 409, 'SEAT_UNAVAILABLE'],
          [cat.reserve(concertId, 'tomorrow', 1), 400, 'INVALID_ARGUMENT'],
          [cat.reserve(concertId, day, 0), 400, 'INVALID_ARGUMENT'],
        ];
        for (const [pending, status, why] of cases) {
          const res = await pending;
          expect([res.status, reason(res)], why).to.deep.equal([status, why]);
        }
        const bad = await mesh.request('POST', '/api/v1/reservations', {
          token: cat.jwt,
          queueToken: cat.queueToken,
          body: { concertId, date: day, seatNumber: 'seven' },
        });
        expect([bad.status, bad.body.details[0].metadata.field]).to.deep.equal([400, 'seatNumber']);
        const held = await sql(
          mesh,
          'reservation',
          'SELECT id FROM reservation WHERE user_id = ?',
          [cat.id],
        );
        expect(held).to.have.length(0);
      });

      it('gives a hotly contested seat to exactly one of 100 users', async () => {
        const seat = nextSeat();
        const people = await Promise.all(
          Array.from({ length: 100 }, (_, i) => Person.join(mesh, `hot${i}-${mode}`)),
        );
        const refusals = async () => {
          const text = await scrape(metricsUrl);
          const of = (name: string, labels: Record<string, string>) =>
            valueOf(text, name, labels) ?? 0;
          return {
            guard: of('tx_guard_refusals_total', { flow: 'reserve', reason: 'SEAT_UNAVAILABLE' }),
            tx: of('tx_total', { flow: 'reserve', mode, outcome: 'SEAT_UNAVAILABLE' }),
          };
        };
        const before = await refusals();
        const answers = await Promise.all(people.map((p) => p.reserve(concertId, day, seat)));
        const statuses = answers.map((a) => a.status);
        expect(statuses.filter((s) => s === 201)).to.have.length(1);
        // Losers that waited for the seat's turn were refused by the guard, without a
        // transaction; every loser was refused one way or the other, exactly once.
        const after = await refusals();
        expect(after.guard - before.guard + (after.tx - before.tx)).to.equal(99);
        expect(after.guard - before.guard).to.be.greaterThan(0);
        expect(
          answers.filter((a) => a.status === 409 && reason(a) === 'SEAT_UNAVAILABLE'),
        ).to.have.length(99);
        const rows = await sql(
          mesh,
          'reservation',
          "SELECT status FROM reservation WHERE seat_number = ? AND status <> 'CANCELLED'",
          [seat],
        );
        expect(rows).to.deep.equal([{ status: 'HELD' }]);
      });
    });

    describe('pay', () => {
      it('debits points, records the payment, confirms, sells the seat and ends the queue token', async () => {
        const eve = await Person.join(mesh, `eve-${mode}`, 5000);
        const seat = nextSeat();
        const held = (await eve.reserve(concertId, day, seat)).body;
        const paid = await eve.pay(held.reservationId);
        expect(paid.status, JSON.stringify(paid.body)).to.equal(201);
        expect(paid.body).to.include({
          reservationId: held.reservationId,
          amount: 2000,
          status: 'PAID',
          balance: 3000,
        });
        expect(paid.body.paymentId).to.be.a('string');
        expect(Date.parse(paid.body.paidAt)).to.be.closeTo(Date.now(), 60_000);
        expect(await eve.balance()).to.equal(3000);
        const got = await eve.reservation(held.reservationId);
        expect(got.body).to.include({ status: 'CONFIRMED', paymentId: paid.body.paymentId });
        const seatRow = await sql(
          mesh,
          'concert',
          'SELECT status FROM seat WHERE schedule_id = ? AND seat_number = ?',
          [held.scheduleId, seat],
        );
        expect(seatRow).to.deep.equal([{ status: 'SOLD' }]);
        const after = await eventually(
          () =>
            eve
              .seats(concertId, day)
              .then(
                () => 200,
                () => 0,
              )
              .then(() =>
                mesh.request('GET', `/api/v1/concerts/${concertId}/dates`, {
                  token: eve.jwt,
                  queueToken: eve.queueToken,
                }),
              ),
          (r) => r.status === 401,
        );
        expect([after.status, reason(after)]).to.deep.equal([401, 'QUEUE_TOKEN_EXPIRED']);
      });

      it('refuses unknown, foreign, paid, cancelled and unaffordable reservations with their reasons', async () => {
        const fay = await Person.join(mesh, `fay-${mode}`, 2500);
        const gus = await Person.join(mesh, `gus-${mode}`, 100);
        const unknown = await fay.pay('00000000000000000000000000');
        expect([unknown.status, reason(unknown)]).to.deep.equal([404, 'RESERVATION_NOT_FOUND']);

        const fays = (await fay.reserve(concertId, day, nextSeat())).body;
        const foreign = await gus.pay(fays.reservationId);
        expect(foreign.status).to.be.oneOf([403, 404]);
        expect(reason(foreign)).to.be.oneOf(['RESERVATION_NOT_FOUND', 'NOT_RESERVATION_OWNER']);

        const poor = (await gus.reserve(concertId, day, nextSeat())).body;
        const broke = await gus.pay(poor.reservationId);
        expect([broke.status, reason(broke)]).to.deep.equal([400, 'INSUFFICIENT_POINTS']);
        expect((await gus.reservation(poor.reservationId)).body.status).to.equal('HELD');
        expect(await gus.balance()).to.equal(100);

        const first = await fay.pay(fays.reservationId);
        expect(first.status).to.equal(201);
        await fay.reenterQueueAfterPaying();
        const again = await fay.pay(fays.reservationId);
        expect([again.status, reason(again)]).to.deep.equal([409, 'RESERVATION_ALREADY_PAID']);

        const refunded = await fay.refund(first.body.paymentId);
        expect(refunded.status).to.equal(200);
        const cancelled = await fay.pay(fays.reservationId);
        expect([cancelled.status, reason(cancelled)]).to.deep.equal([400, 'RESERVATION_CANCELLED']);
        expect(await fay.balance()).to.equal(2500);
      });

      it('pays once for a repeated Idempotency-Key and refuses the key with another body', async () => {
        const hal = await Person.join(mesh, `hal-${mode}`, 10_000);
        const a = (await hal.reserve(concertId, day, nextSeat())).body;
        const b = (await hal.reserve(concertId, day, nextSeat())).body;
        const first = await hal.pay(a.reservationId, 'key-1');
        // The payment ended hal's queue token: a client repeating a lost answer re-enters first;
        // the replay itself ends nothing.
        await hal.reenterQueueAfterPaying();
        const repeat = await hal.pay(a.reservationId, 'key-1');
        expect([first.status, repeat.status]).to.deep.equal([201, 201]);
        expect(repeat.body).to.deep.equal(first.body);
        const reused = await hal.pay(b.reservationId, 'key-1');
        expect([reused.status, reason(reused)]).to.deep.equal([409, 'IDEMPOTENCY_KEY_REUSED']);
        expect(await hal.balance()).to.equal(8000);
        const uses = await sql(
          mesh,
          'point',
          "SELECT COUNT(*) AS n FROM point_ledger WHERE user_id = ? AND type = 'USE'",
          [hal.id],
        );
        expect(Number(uses[0].n)).to.equal(1);
      });

      it('pays a reservation asked five times at once exactly once', async () => {
        const ivy = await Person.join(mesh, `ivy-${mode}`, 10_000);
        const held = (await ivy.reserve(concertId, day, nextSeat())).body;
        const answers = await Promise.all(
          Array.from({ length: 5 }, () => ivy.pay(held.reservationId)),
        );
        expect(answers.filter((a) => a.status === 201)).to.have.length(1);
        expect(answers.filter((a) => a.status === 409)).to.have.length(4);
        expect(await ivy.balance()).to.equal(8000);
        const payments = await sql(
          mesh,
          'payment',
          "SELECT COUNT(*) AS n FROM payment WHERE reservation_id = ? AND status = 'PAID'",
          [held.reservationId],
        );
        expect(Number(payments[0].n)).to.equal(1);
        const uses = await sql(
          mesh,
          'point',
          "SELECT COUNT(*) AS n FROM point_ledger WHERE user_id = ? AND type = 'USE'",
          [ivy.id],
        );
        expect(Number(uses[0].n)).to.equal(1);
      });

      it('pays exactly two of five holds at once with points for two', async () => {
        const jo = await Person.join(mesh, `jo-${mode}`, 5000);
        const holds = [];
        for (let i = 0; i < 5; i++) holds.push((await jo.reserve(concertId, day, nextSeat())).body);
        const answers = await Promise.all(holds.map((h) => jo.pay(h.reservationId)));
        expect(answers.filter((a) => a.status === 201)).to.have.length(2);
        expect(
          answers.filter((a) => a.status === 400 && reason(a) === 'INSUFFICIENT_POINTS'),
        ).to.have.length(3);
        expect(await jo.balance()).to.equal(1000);
        const states = await Promise.all(
          holds.map(async (h) => (await jo.reservation(h.reservationId)).body.status),
        );
        expect(states.filter((s) => s === 'HELD')).to.have.length(3);
        expect(states.filter((s) => s === 'CONFIRMED')).to.have.length(2);
      });
    });

    describe('transaction log', () => {
      it('shows each transaction with its flow, mode, state and branches', async () => {
        const channels = new ChannelPool(5000);
        const coordinator = channels.client(
          CoordinatorServiceService,
          `127.0.0.1:${mesh.env.COORDINATOR_GRPC_PORT}`,
          mesh.trust().signer('operator'),
        );
        const ola = await Person.join(mesh, `ola-${mode}`, 5000);
        const held = (await ola.reserve(concertId, day, nextSeat())).body;
        expect((await ola.pay(held.reservationId)).status).to.equal(201);
        const { transactions } = await coordinator.listTransactions(
          ListTransactionsRequest.fromPartial({ state: TxState.COMMITTED, limit: 5 }),
        );
        const pay = transactions.find((t) => t.flow === 'pay')!;
        expect(pay).to.include({ mode, state: TxState.COMMITTED });
        const { transaction } = await coordinator.getTransaction({ gid: pay.gid });
        channels.close();
        const branches = transaction!.branches.map((b) => [b.participant, b.state]).sort();
        expect(branches).to.deep.equal(
          mode === 'saga'
            ? [
                ['concert', 'DONE'],
                ['payment', 'DONE'],
                ['point', 'DONE'],
                ['reservation', 'DONE'],
                ['reservation', 'DONE'],
              ]
            : [
                ['concert', 'COMMITTED'],
                ['concert', 'PREPARED'],
                ['payment', 'COMMITTED'],
                ['payment', 'PREPARED'],
                ['point', 'COMMITTED'],
                ['point', 'PREPARED'],
                ['reservation', 'COMMITTED'],
                ['reservation', 'DONE'],
                ['reservation', 'PREPARED'],
              ],
        );
      });
    });

    describe('metrics', () => {
      it('exposes every listed series and counts transactions by exactly the traffic', async () => {
        const text = await scrape(metricsUrl);
        for (const series of [
          'process_cpu_seconds_total',
          'nodejs_eventloop_lag_seconds',
          'grpc_server_duration_seconds_count',
          'http_server_duration_seconds_count',
          'outbox_unsent_events',
          'outbox_lag_seconds',
          'dlq_parked_messages',
          'waiting_room_waiting',
          'waiting_room_active',
        ]) {
          expect(valueOf(text, series), series).to.be.a('number');
        }
        const committed = { flow: 'pay', mode, outcome: 'committed' };
        const refused = { flow: 'pay', mode, outcome: 'INSUFFICIENT_POINTS' };
        const before = [
          valueOf(text, 'tx_total', committed) ?? 0,
          valueOf(text, 'tx_total', refused) ?? 0,
        ];
        const compBefore = valueOf(text, 'tx_compensations_total', { flow: 'pay' }) ?? 0;
        const taken = { flow: 'reserve', reason: 'SEAT_UNAVAILABLE' };
        const lostRace = { flow: 'reserve', mode, outcome: 'SEAT_UNAVAILABLE' };
        const takenBefore = [
          valueOf(text, 'tx_guard_refusals_total', taken) ?? 0,
          valueOf(text, 'tx_total', lostRace) ?? 0,
        ];
        const payRoute = { route: '/api/v1/payments', code: '201' };
        const httpBefore = valueOf(text, 'http_server_duration_seconds_count', payRoute) ?? 0;

        const pia = await Person.join(mesh, `pia-${mode}`, 2500);
        const a = (await pia.reserve(concertId, day, nextSeat())).body;
        const b = (await pia.reserve(concertId, day, nextSeat())).body;
        // Nobody else wanted the seat at that moment: its hold decides, in a transaction.
        expect((await pia.reserve(concertId, day, a.seatNumber)).status).to.equal(409);
        expect((await pia.pay(a.reservationId)).status).to.equal(201);
        await pia.enterQueue().catch(() => undefined);
        const again = await eventually(
          async () => {
            await pia.enterQueue();
            return pia.pay(b.reservationId);
          },
          (r) => r.status !== 401,
        );
        expect(again.status).to.equal(400); // 500 points left for a 2,000 seat

        const after = await scrape(metricsUrl);
        expect([
          valueOf(after, 'tx_total', committed),
          valueOf(after, 'tx_total', refused),
        ]).to.deep.equal([before[0] + 1, before[1] + 1]);
        expect([
          valueOf(after, 'tx_guard_refusals_total', taken),
          valueOf(after, 'tx_total', lostRace) ?? 0,
        ]).to.deep.equal([takenBefore[0], takenBefore[1] + 1]);
        expect(valueOf(after, 'http_server_duration_seconds_count', payRoute)).to.equal(
          httpBefore + 1,
        );
        // A saga compensates BeginPayment and the two steps that ran beside the refused
        // UsePoints (which rolled itself back); XA rolls back instead.
        expect(valueOf(after, 'tx_compensations_total', { flow: 'pay' }) ?? 0).to.equal(
          compBefore + (mode === 'saga' ? 3 : 0),
        );
      });
    });

    describe('refund', () => {
      it('returns the points, cancels the reservation, frees the seat, and only once', async () => {
        const kim = await Person.join(mesh, `kim-${mode}`, 3000);
        const seat = nextSeat();
        const held = (await kim.reserve(concertId, day, seat)).body;
        const paid = (await kim.pay(held.reservationId)).body;
        const lee = await Person.join(mesh, `lee-${mode}`);
        const foreign = await lee.refund(paid.paymentId);
        expect(foreign.status).to.equal(404);
        const res = await kim.refund(paid.paymentId);
        expect([res.status, res.body]).to.deep.equal([
          200,
          { paymentId: paid.paymentId, status: 'REFUNDED', refundedAmount: 2000, balance: 3000 },
        ]);
        expect((await kim.reservation(held.reservationId)).body.status).to.equal('CANCELLED');
        expect(
          (await lee.seats(concertId, day)).find((s) => s.seatNumber === seat)!.status,
        ).to.equal('AVAILABLE');
        const twice = await kim.refund(paid.paymentId);
        expect([twice.status, reason(twice)]).to.deep.equal([409, 'PAYMENT_ALREADY_REFUNDED']);
        expect(await kim.balance()).to.equal(3000);
        const again = await lee.reserve(concertId, day, seat);
        expect(again.status).to.equal(201);
      });
    });
  });

  describe(`expiry (TX_MODE=${mode}, 2 s holds)`, function () {
    this.timeout(120_000);
    let mesh: Mesh;
    let concertId: string;
    const day = isoDay(5);

    before(async () => {
      mesh = await startMesh({
        TX_MODE: mode,
        RESERVATION_HOLD_SECONDS: '2',
        RESERVATION_SWEEP_INTERVAL_MS: '100',
      });
      concertId = await createConcert(mesh, {
        title: `Expiry ${mode}`,
        dates: [day],
        seatsPerDate: 50,
        price: 1000,
      });
    });
    after(() => auditAndDestroy(mesh));

    it('expires an unpaid hold, frees its seat for someone else, and refuses its payment', async () => {
      const max = await Person.join(mesh, `max-${mode}`, 5000);
      const held = (await max.reserve(concertId, day, 1)).body;
      const expired = await eventually(
        () => max.reservation(held.reservationId),
        (r) => r.body.status === 'EXPIRED',
        7000,
      );
      expect(expired.body.status).to.equal('EXPIRED');
      const late = await max.pay(held.reservationId);
      expect([late.status, reason(late)]).to.deep.equal([400, 'RESERVATION_EXPIRED']);
      expect(await max.balance()).to.equal(5000);
      const ned = await Person.join(mesh, `ned-${mode}`);
      expect((await ned.reserve(concertId, day, 1)).status).to.equal(201);
    });

    it('lets exactly one of payment and expiry win for each hold, never debiting an expired one', async () => {
      const racers = await Promise.all(
        Array.from({ length: 12 }, (_, i) => Person.join(mesh, `race${i}-${mode}`, 1000)),
      );
      const holds = await Promise.all(racers.map((p, i) => p.reserve(concertId, day, 10 + i)));
      for (const h of holds) expect(h.status).to.equal(201);
      // Pay around the moment the holds run out, staggered across the sweep.
      await new Promise((r) => setTimeout(r, 1700));
      const answers = await Promise.all(
        racers.map(async (p, i) => {
          await new Promise((r) => setTimeout(r, i * 40));
          return p.pay(holds[i].body.reservationId);
        }),
      );
      for (const [i, p] of racers.entries()) {
        const a = answers[i];
        const final = await eventually(
          () => p.reservation(holds[i].body.reservationId),
          (r) => r.body.status === 'CONFIRMED' || r.body.status === 'EXPIRED',
          8000,
        );
        if (a.status === 201) {
          expect(final.body.status, `racer ${i}`).to.equal('CONFIRMED');
          expect(await p.balance()).to.equal(0);
        } else {
          expect(reason(a), `racer ${i}`).to.equal('RESERVATION_EXPIRED');
          expect(final.body.status).to.equal('EXPIRED');
          expect(await p.balance()).to.equal(1000);
        }
      }
    });
  });
}
