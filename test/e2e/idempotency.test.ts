// Idempotency-Key on every money- or seat-moving POST (charge, reserve, pay, refund), through the
// gateway, once per TX_MODE: a burst of repeats of one request applies once and every repeat
// gets the first answer; the same key with another body is refused and changes nothing; a key
// belongs to its user. Exact effects are counted in the services' own tables.
import { expect } from 'chai';
import { loadConfig, type DbServiceName } from '../../lib/config';
import { TX_MODES } from '../../lib/txMode';
import { startMesh, type ApiResponse, type Mesh } from '../support/mesh';
import {
  Person,
  createConcert,
  expectInvariants,
  isoDay,
  reason,
  seatRows,
  sql,
} from '../support/people';

const REPEATS = 20;
const PRICE = 2000;

interface Timed {
  res: ApiResponse;
  ms: number;
}

/** `n` requests sent at once (`send` gets each one's index), each with how long it took. */
function atOnce(n: number, send: (i: number) => Promise<ApiResponse>): Promise<Timed[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const start = Date.now();
      const res = await send(i);
      return { res, ms: Date.now() - start };
    }),
  );
}

/** What a client sees of an answer; headers such as X-Request-Id differ by design. */
const answer = (res: ApiResponse) => ({ status: res.status, body: res.body });

const inProgress = (res: ApiResponse) =>
  res.status === 409 && reason(res) === 'IDEMPOTENCY_KEY_IN_PROGRESS';

/**
 * The one answer of a burst of repeats: every answer is the first one (status and body). Only
 * for a coordinator flow (`replayWaitMs` given) a repeat which waited the whole replay wait (the
 * gRPC deadline minus 1 s) for a first run still going is 409 IDEMPOTENCY_KEY_IN_PROGRESS
 * instead; a charge has no such state (a repeat waits on the wallet's row lock).
 */
function firstAnswerOf(burst: Timed[], status: number, replayWaitMs?: number): ApiResponse {
  const answered = burst.filter((t) => replayWaitMs === undefined || !inProgress(t.res));
  expect(answered, 'every repeat gave up waiting').to.not.be.empty;
  const first = answered[0].res;
  expect(first.status, JSON.stringify(first.body)).to.equal(status);
  for (const t of burst) {
    if (answered.includes(t)) expect(answer(t.res)).to.deep.equal(answer(first));
    else expect(t.ms, 'IN_PROGRESS before the wait').to.be.at.least(replayWaitMs!);
  }
  return first;
}

/**
 * A burst under one key with two bodies at once, alternating: one body applies, and its
 * answers are as `firstAnswerOf` says; every answer to the other is 409 IDEMPOTENCY_KEY_REUSED
 * (refused before any wait). Answers which body won, and its answer.
 */
async function oneOfTwo(
  send: (body: number) => Promise<ApiResponse>,
  status: number,
  replayWaitMs?: number,
): Promise<{ won: number; first: ApiResponse }> {
  const burst = await atOnce(REPEATS, (i) => send(i % 2));
  const reused = (res: ApiResponse) =>
    res.status === 409 && reason(res) === 'IDEMPOTENCY_KEY_REUSED';
  const winners = new Set(burst.flatMap((t, i) => (reused(t.res) ? [] : [i % 2])));
  expect([...winners], 'bodies that were not refused').to.have.length(1);
  const [won] = winners;
  const first = firstAnswerOf(
    burst.filter((_, i) => i % 2 === won),
    status,
    replayWaitMs,
  );
  return { won, first };
}

for (const mode of TX_MODES) {
  describe(`Idempotency-Key (TX_MODE=${mode})`, function () {
    this.timeout(120_000);
    let mesh: Mesh;
    let concertId = '';
    let replayWaitMs = 0;
    const day = isoDay(6);
    let seatCursor = 0;
    const nextSeat = () => ++seatCursor;

    before(async () => {
      mesh = await startMesh({ TX_MODE: mode });
      // How long the coordinator lets a repeat wait for the first run (coordinator/main.ts).
      replayWaitMs = loadConfig(mesh.env).grpcDeadlineMs - 1000;
      concertId = await createConcert(mesh, {
        title: `Idempotency ${mode}`,
        dates: [day],
        seatsPerDate: 50,
        price: PRICE,
      });
    });
    afterEach(async () => {
      if (mesh) await expectInvariants(mesh);
    });
    after(async () => {
      await mesh?.destroy();
    });

    const join = (name: string, points = 0) => Person.join(mesh, `${name}-${mode}`, points);

    async function count(service: DbServiceName, query: string, params: unknown[]) {
      return Number((await sql<{ n: number }>(mesh, service, query, params))[0].n);
    }
    const ledger = (p: Person, type: 'CHARGE' | 'USE' | 'REFUND') =>
      count('point', 'SELECT COUNT(*) AS n FROM point_ledger WHERE user_id = ? AND type = ?', [
        p.id,
        type,
      ]);
    const reservations = (p: Person) =>
      sql(mesh, 'reservation', 'SELECT id, status FROM reservation WHERE user_id = ? ORDER BY id', [
        p.id,
      ]);
    const payments = (p: Person) =>
      sql(mesh, 'payment', 'SELECT id, status FROM payment WHERE user_id = ? ORDER BY id', [p.id]);
    const seat = async (n: number) => (await seatRows(mesh, concertId, day)).get(n);

    it(`credits ${REPEATS} concurrent charges under one key once, and answers each the same`, async () => {
      // No wallet yet: the repeats also race to create it.
      const ann = await join('charge-ann');
      const burst = await atOnce(REPEATS, () => ann.chargeRequest(700, 'charge-1'));
      const first = firstAnswerOf(burst, 200);
      expect(first.body).to.deep.equal({ userId: ann.id, balance: 700 });
      expect(answer(await ann.chargeRequest(700, 'charge-1'))).to.deep.equal(answer(first));
      expect(await ann.balance()).to.equal(700);
      expect(await ledger(ann, 'CHARGE')).to.equal(1);
      expect(
        await count('point', 'SELECT COUNT(*) AS n FROM charge_key WHERE user_id = ?', [ann.id]),
      ).to.equal(1);
    });

    it(`holds a seat once for ${REPEATS} concurrent reserves under one key`, async () => {
      const bo = await join('reserve-bo');
      const n = nextSeat();
      const burst = await atOnce(REPEATS, () => bo.reserve(concertId, day, n, 'hold-1'));
      const first = firstAnswerOf(burst, 201, replayWaitMs);
      expect(first.body).to.include({ concertId, seatNumber: n, price: PRICE, status: 'HELD' });
      // A repeat that gave up waiting gets the answer when it asks again.
      const later = await bo.reserve(concertId, day, n, 'hold-1');
      expect(answer(later)).to.deep.equal(answer(first));
      expect(await reservations(bo)).to.deep.equal([
        { id: first.body.reservationId, status: 'HELD' },
      ]);
      expect(await seat(n)).to.deep.equal({ status: 'HELD', heldBy: first.body.reservationId });
    });

    it(`pays once for ${REPEATS} concurrent pays under one key, also repeated after the payment ended the token`, async () => {
      const cy = await join('pay-cy', 5000);
      const n = nextSeat();
      const held = (await cy.reserve(concertId, day, n)).body;
      const pay = () => cy.pay(held.reservationId, 'pay-1');
      const first = firstAnswerOf(await atOnce(REPEATS, pay), 201, replayWaitMs);
      expect(first.body).to.include({
        reservationId: held.reservationId,
        amount: PRICE,
        status: 'PAID',
        balance: 3000,
      });
      // The payment ends the token asynchronously; the token still serves to repeat the payment.
      await cy.tokenEndedByPayment();
      const again = firstAnswerOf(await atOnce(REPEATS, pay), 201, replayWaitMs);
      expect(answer(again)).to.deep.equal(answer(first));
      expect(await cy.balance()).to.equal(3000);
      expect(await ledger(cy, 'USE')).to.equal(1);
      expect(await payments(cy)).to.deep.equal([{ id: first.body.paymentId, status: 'PAID' }]);
      expect(await reservations(cy)).to.deep.equal([
        { id: held.reservationId, status: 'CONFIRMED' },
      ]);
      expect(await seat(n)).to.deep.equal({ status: 'SOLD', heldBy: held.reservationId });
    });

    it(`refunds once for ${REPEATS} concurrent refunds under one key`, async () => {
      const di = await join('refund-di', 5000);
      const n = nextSeat();
      const held = (await di.reserve(concertId, day, n)).body;
      const paid = await di.pay(held.reservationId);
      expect(paid.status, JSON.stringify(paid.body)).to.equal(201);
      const refund = () => di.refund(paid.body.paymentId, 'refund-1');
      const first = firstAnswerOf(await atOnce(REPEATS, refund), 200, replayWaitMs);
      expect(first.body).to.deep.equal({
        paymentId: paid.body.paymentId,
        status: 'REFUNDED',
        refundedAmount: PRICE,
        balance: 5000,
      });
      expect(answer(await refund())).to.deep.equal(answer(first));
      expect(await di.balance()).to.equal(5000);
      expect([await ledger(di, 'USE'), await ledger(di, 'REFUND')]).to.deep.equal([1, 1]);
      expect(await payments(di)).to.deep.equal([{ id: paid.body.paymentId, status: 'REFUNDED' }]);
      expect(await reservations(di)).to.deep.equal([
        { id: held.reservationId, status: 'CANCELLED' },
      ]);
      expect(await seat(n)).to.deep.equal({ status: 'AVAILABLE', heldBy: null });
    });

    it('refuses a key repeated with another body (409 IDEMPOTENCY_KEY_REUSED) and changes nothing', async () => {
      const ed = await join('reused-ed', 5000);
      const reused = (res: ApiResponse) => [res.status, reason(res)];
      const REFUSED = [409, 'IDEMPOTENCY_KEY_REUSED'];

      expect((await ed.chargeRequest(100, 'k-charge')).status).to.equal(200);
      expect(reused(await ed.chargeRequest(200, 'k-charge'))).to.deep.equal(REFUSED);
      expect(await ed.balance()).to.equal(5100);

      const [a, b] = [nextSeat(), nextSeat()];
      const heldA = await ed.reserve(concertId, day, a, 'k-hold');
      expect(heldA.status, JSON.stringify(heldA.body)).to.equal(201);
      expect(reused(await ed.reserve(concertId, day, b, 'k-hold'))).to.deep.equal(REFUSED);
      expect(await seat(b)).to.deep.equal({ status: 'AVAILABLE', heldBy: null });
      expect(await reservations(ed)).to.have.length(1);

      const heldB = await ed.reserve(concertId, day, b);
      const paidA = await ed.pay(heldA.body.reservationId, 'k-pay');
      expect(paidA.status, JSON.stringify(paidA.body)).to.equal(201);
      await ed.reenterQueueAfterPaying();
      expect(reused(await ed.pay(heldB.body.reservationId, 'k-pay'))).to.deep.equal(REFUSED);
      expect(await seat(b)).to.deep.equal({ status: 'HELD', heldBy: heldB.body.reservationId });
      expect(await ed.balance()).to.equal(3100);

      const paidB = await ed.pay(heldB.body.reservationId);
      expect(paidB.status, JSON.stringify(paidB.body)).to.equal(201);
      expect((await ed.refund(paidA.body.paymentId, 'k-refund')).status).to.equal(200);
      expect(reused(await ed.refund(paidB.body.paymentId, 'k-refund'))).to.deep.equal(REFUSED);
      expect(await payments(ed)).to.have.deep.members([
        { id: paidA.body.paymentId, status: 'REFUNDED' },
        { id: paidB.body.paymentId, status: 'PAID' },
      ]);
      expect(await ed.balance()).to.equal(3100);
      expect([
        await ledger(ed, 'CHARGE'),
        await ledger(ed, 'USE'),
        await ledger(ed, 'REFUND'),
      ]).to.deep.equal([2, 2, 1]);
    });

    it('applies one of two bodies sent at once under one key, and refuses the other', async () => {
      const ivy = await join('mixed-ivy', 5000);
      const amounts = [100, 200];
      const charged = await oneOfTwo((b) => ivy.chargeRequest(amounts[b], 'mix-charge'), 200);
      expect(await ivy.balance()).to.equal(5000 + amounts[charged.won]);
      expect(await ledger(ivy, 'CHARGE')).to.equal(2);

      const seats = [nextSeat(), nextSeat()];
      const reserve = (b: number, key?: string) => ivy.reserve(concertId, day, seats[b], key);
      const held = await oneOfTwo((b) => reserve(b, 'mix-hold'), 201, replayWaitMs);
      const heldId = held.first.body.reservationId;
      expect(await reservations(ivy)).to.deep.equal([{ id: heldId, status: 'HELD' }]);
      expect([await seat(seats[held.won]), await seat(seats[1 - held.won])]).to.deep.equal([
        { status: 'HELD', heldBy: heldId },
        { status: 'AVAILABLE', heldBy: null },
      ]);

      const otherId = (await reserve(1 - held.won)).body.reservationId;
      const holds = [heldId, otherId];
      const paid = await oneOfTwo((b) => ivy.pay(holds[b], 'mix-pay'), 201, replayWaitMs);
      expect(paid.first.body.reservationId).to.equal(holds[paid.won]);
      expect(await payments(ivy)).to.deep.equal([
        { id: paid.first.body.paymentId, status: 'PAID' },
      ]);
      expect(await ivy.balance()).to.equal(5000 + amounts[charged.won] - PRICE);
      expect(await reservations(ivy)).to.have.deep.members([
        { id: holds[paid.won], status: 'CONFIRMED' },
        { id: holds[1 - paid.won], status: 'HELD' },
      ]);
    });

    it("treats another user's use of the same key as another key", async () => {
      const [fay, gus] = await Promise.all([join('shared-fay', 5000), join('shared-gus', 5000)]);
      const key = 'the-same-key';
      // Each user's first request under the key runs; neither gets the other's answer.
      const charges = await Promise.all([fay.chargeRequest(100, key), gus.chargeRequest(300, key)]);
      expect(charges.map(answer)).to.deep.equal([
        { status: 200, body: { userId: fay.id, balance: 5100 } },
        { status: 200, body: { userId: gus.id, balance: 5300 } },
      ]);
      const n = nextSeat();
      const faysHold = await fay.reserve(concertId, day, n, key);
      expect(faysHold.status, JSON.stringify(faysHold.body)).to.equal(201);
      const gusTaken = await gus.reserve(concertId, day, n, key);
      expect([gusTaken.status, reason(gusTaken)]).to.deep.equal([409, 'SEAT_UNAVAILABLE']);
      const repeats = await Promise.all([
        fay.chargeRequest(100, key),
        gus.chargeRequest(300, key),
        fay.reserve(concertId, day, n, key),
        gus.reserve(concertId, day, n, key),
      ]);
      expect(repeats.map(answer)).to.deep.equal(
        [...charges, faysHold, gusTaken].map(answer),
        "each user's repeats get that user's first answers",
      );
      const gusHold = await gus.reserve(concertId, day, nextSeat());
      const pays = await Promise.all([
        fay.pay(faysHold.body.reservationId, `${key}-pay`),
        gus.pay(gusHold.body.reservationId, `${key}-pay`),
      ]);
      expect(pays.map((p) => [p.status, p.body.reservationId])).to.deep.equal([
        [201, faysHold.body.reservationId],
        [201, gusHold.body.reservationId],
      ]);
      const refunds = await Promise.all([
        fay.refund(pays[0].body.paymentId, `${key}-refund`),
        gus.refund(pays[1].body.paymentId, `${key}-refund`),
      ]);
      expect(refunds.map((r) => [r.status, r.body.paymentId])).to.deep.equal([
        [200, pays[0].body.paymentId],
        [200, pays[1].body.paymentId],
      ]);
      expect([await fay.balance(), await gus.balance()]).to.deep.equal([5100, 5300]);
    });

    it('keeps one key space per user for reserve, pay and refund, and charge keys apart', async () => {
      const hal = await join('flows-hal', 5000);
      const key = 'one-key';
      const held = await hal.reserve(concertId, day, nextSeat(), key);
      expect(held.status, JSON.stringify(held.body)).to.equal(201);
      // The coordinator's fingerprint names the flow: a key that named a Reserve names no Pay.
      const pay = await hal.pay(held.body.reservationId, key);
      expect([pay.status, reason(pay)]).to.deep.equal([409, 'IDEMPOTENCY_KEY_REUSED']);
      expect(await reservations(hal)).to.deep.equal([
        { id: held.body.reservationId, status: 'HELD' },
      ]);
      expect(await hal.balance()).to.equal(5000);

      const paid = await hal.pay(held.body.reservationId, 'pay-key');
      expect(paid.status, JSON.stringify(paid.body)).to.equal(201);
      for (const used of [key, 'pay-key']) {
        const refund = await hal.refund(paid.body.paymentId, used);
        expect([refund.status, reason(refund)], used).to.deep.equal([
          409,
          'IDEMPOTENCY_KEY_REUSED',
        ]);
      }
      expect(await payments(hal)).to.deep.equal([{ id: paid.body.paymentId, status: 'PAID' }]);

      // Charge keys are the point service's own: the key of the Reserve charges once.
      const charged = await hal.chargeRequest(100, key);
      expect(answer(charged)).to.deep.equal({
        status: 200,
        body: { userId: hal.id, balance: 3100 },
      });
      expect(answer(await hal.chargeRequest(100, key))).to.deep.equal(answer(charged));
      expect(await hal.balance()).to.equal(3100);
    });
  });
}
