// Slowness tests with real processes and failpoints that delay or fail at exact points (armed
// by restarting one process group): a branch that outlives its deadline, a call that reaches its
// XA branch after the abort, a stalled phase 2, a barrier that cannot be asked, lock errors
// inside a branch, and a rollback or compensation that keeps failing until an operator retries
// it. Each asserts the client's exact answer, the exact state and what was published, then
// every invariant of the auditor, the event pipeline's included.
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { ChannelPool } from '../../lib/grpc/client';
import type { EventEnvelope } from '../../lib/events/envelope';
import { TX_MODES } from '../../lib/txMode';
import { preparedBranch, type XaRecoverRow } from '../../ops/isolation';
import {
  CoordinatorServiceService,
  ListTransactionsRequest,
  TxState,
} from '../../gen/boxoffice/coordinator/v1/coordinator';
import { deliveries } from '../support/dataplatform';
import { ExchangeTap } from '../support/events';
import { freePort, startMesh, type Mesh } from '../support/mesh';
import { answeredCalls, scrape, valueOf } from '../support/metrics';
import {
  Person,
  createConcert,
  eventually,
  expectInvariants,
  isoDay,
  reason,
  sql,
} from '../support/people';

const BRANCH_DEADLINE_MS = 2000;
/** A delay past a branch call's deadline, short of the transaction's time to live. */
const PAST_DEADLINE_MS = BRANCH_DEADLINE_MS + 1000;
const TTL_MS = 6000;
/** A delay past the time to live and the compensations after it: the saga has ended by then. */
const PAST_TTL_MS = TTL_MS + 3000;

const SETTINGS = {
  TX_BRANCH_DEADLINE_MS: String(BRANCH_DEADLINE_MS),
  TX_TTL_MS: String(TTL_MS),
  TX_INLINE_FINISH_MS: '1500',
  TX_RECOVERY_INTERVAL_MS: '200',
  TX_RETRY_BASE_MS: '200',
  TX_RETRY_MAX_MS: '1000',
  TX_PARK_AFTER_ATTEMPTS: '2',
  // The gateway waits for a Pay that runs to its time to live and compensates.
  GRPC_DEADLINE_MS: '15000',
};
/** Each participant in a process of its own, so one can be armed without touching the rest. */
const PARTICIPANTS = ['point', 'payment', 'reservation', 'concert'] as const;
type ParticipantName = (typeof PARTICIPANTS)[number];
const PRICE = 1500;
const POINTS = 5000;

/** A Pay of a reservation as the coordinator logged it. */
interface PayAttempt {
  gid: string;
  paymentId: string;
  state: string;
  endedAt: Date;
}

/** What a reservation's payments left in every database, as exact as the tests assert it. */
interface Books {
  reservation: string;
  /** The seat's status while this reservation holds it, or AVAILABLE. */
  seat: string;
  balance: number;
  /** The payer's ledger besides charges, oldest first: "USE 1500". */
  ledger: string[];
  /** The reservation's payments, oldest first. */
  payments: string[];
}

const total = (calls: Record<string, number>) => Object.values(calls).reduce((a, b) => a + b, 0);

for (const mode of TX_MODES) {
  describe(`slowness (TX_MODE=${mode})`, function () {
    this.timeout(120_000);
    let mesh: Mesh;
    let tap: ExchangeTap;
    let concertId: string;
    const day = isoDay(8);
    let seat = 0;
    /** Where each participant's process, and the coordinator's, serves its metrics. */
    const ports = {} as Record<ParticipantName | 'coordinator', string>;
    const metricsOf = (owner: ParticipantName | 'coordinator') =>
      `http://127.0.0.1:${ports[owner]}/metrics`;
    const channels = new ChannelPool(5_000);

    before(async () => {
      for (const p of [...PARTICIPANTS, 'coordinator'] as const)
        ports[p] = String(await freePort());
      mesh = await startMesh({ TX_MODE: mode, ...SETTINGS }, [
        {
          name: 'rest',
          services: 'queue,coordinator,gateway,dataplatform,dataplatform-mock',
          env: { METRICS_PORT: ports.coordinator },
        },
        ...PARTICIPANTS.map((p) => ({ name: p, services: p, env: { METRICS_PORT: ports[p] } })),
      ]);
      tap = await ExchangeTap.open(mesh);
      concertId = await createConcert(mesh, {
        title: `Slowness ${mode}`,
        dates: [day],
        seatsPerDate: 50,
        price: PRICE,
      });
    });
    after(async () => {
      channels.close();
      await tap?.close();
      await mesh?.destroy();
    });

    /** Every invariant, the event pipeline's and the data-platform mock's record included. */
    const invariants = () =>
      expectInvariants(mesh, {
        events: true,
        mockUrl: new URL(mesh.env.DATAPLATFORM_URL).origin,
      });

    /** A user with `points` (5,000 unless told) and a fresh hold of a seat at 1,500. */
    async function buyer(name: string, points = POINTS) {
      const p = await Person.join(mesh, `${name}-${mode}`, points);
      const held = await p.reserve(concertId, day, ++seat);
      expect(held.status, JSON.stringify(held.body)).to.equal(201);
      return { p, reservationId: held.body.reservationId as string };
    }

    /** A buyer who has paid: the payment to refund. */
    async function payer(name: string) {
      const { p, reservationId } = await buyer(name);
      const paid = await p.pay(reservationId);
      expect(paid.status, JSON.stringify(paid.body)).to.equal(201);
      return { p, reservationId, paymentId: paid.body.paymentId as string };
    }

    async function books(p: Person, reservationId: string): Promise<Books> {
      const [r] = await sql<{ status: string; schedule_id: string; seat_number: number }>(
        mesh,
        'reservation',
        'SELECT status, schedule_id, seat_number FROM reservation WHERE id = ?',
        [reservationId],
      );
      const [s] = await sql<{ status: string; held_by: string | null }>(
        mesh,
        'concert',
        'SELECT status, held_by FROM seat WHERE schedule_id = ? AND seat_number = ?',
        [r.schedule_id, r.seat_number],
      );
      const ledger = await sql<{ type: string; amount: number }>(
        mesh,
        'point',
        "SELECT type, amount FROM point_ledger WHERE user_id = ? AND type <> 'CHARGE' ORDER BY id",
        [p.id],
      );
      const payments = await sql<{ status: string }>(
        mesh,
        'payment',
        'SELECT status FROM payment WHERE reservation_id = ? ORDER BY paid_at',
        [reservationId],
      );
      return {
        reservation: r.status,
        seat: s.held_by === reservationId || s.held_by === null ? s.status : `${s.status} by other`,
        balance: await p.balance(),
        ledger: ledger.map((l) => `${l.type} ${l.amount}`),
        payments: payments.map((x) => x.status),
      };
    }

    const asHeld: Books = {
      reservation: 'HELD',
      seat: 'HELD',
      balance: POINTS,
      ledger: [],
      payments: [],
    };
    const asPaid: Books = {
      reservation: 'CONFIRMED',
      seat: 'SOLD',
      balance: POINTS - PRICE,
      ledger: [`USE ${PRICE}`],
      payments: ['PAID'],
    };
    const asRefunded: Books = {
      reservation: 'CANCELLED',
      seat: 'AVAILABLE',
      balance: POINTS,
      ledger: [`USE ${PRICE}`, `REFUND ${PRICE}`],
      payments: ['REFUNDED'],
    };

    /** The Pays of a reservation, oldest first. */
    function payAttempts(reservationId: string): Promise<PayAttempt[]> {
      return sql<PayAttempt>(
        mesh,
        'coordinator',
        `SELECT gid, JSON_VALUE(payload, '$.paymentId') AS paymentId, state, updated_at AS endedAt
         FROM global_tx WHERE flow = 'pay' AND JSON_VALUE(payload, '$.reservationId') = ?
         ORDER BY created_at`,
        [reservationId],
      );
    }

    /** The Pays of a reservation once `count` of them have ended, oldest first. */
    function endedPays(reservationId: string, count = 1): Promise<PayAttempt[]> {
      return eventually(
        () => payAttempts(reservationId),
        (a) => a.length === count && a.every((x) => ['COMMITTED', 'ABORTED'].includes(x.state)),
        20_000,
      );
    }

    /** Calls the coordinator made to a branch, as its log counts them. */
    async function branchCalls(gid: string, branchId: string): Promise<number> {
      const [row] = await sql<{ attempts: number }>(
        mesh,
        'coordinator',
        'SELECT attempts FROM tx_branch WHERE gid = ? AND branch_id = ?',
        [gid, branchId],
      );
      return row.attempts;
    }

    /** Waits until the participant has answered `n` calls of `method`; answers them by code. */
    function answered(participant: ParticipantName, method: string, n: number) {
      return eventually(
        () => answeredCalls(metricsOf(participant), participant, method),
        (calls) => total(calls) >= n,
        20_000,
      );
    }

    /** Transactions the coordinator has parked in this state (tx_parked_total). */
    async function parkedCount(state: TxState): Promise<number> {
      const text = await scrape(metricsOf('coordinator'));
      return valueOf(text, 'tx_parked_total', { flow: 'pay', state: TxState[state] }) ?? 0;
    }

    /** Databases holding an XA branch of `gid` still prepared (XA RECOVER is server-wide). */
    async function preparedFor(gid: string): Promise<string[]> {
      const rows = await sql<XaRecoverRow>(mesh, 'point', 'XA RECOVER');
      return rows
        .map(preparedBranch)
        .filter((b) => b.gid === gid)
        .map((b) => b.bqual);
    }

    /** The events of one payment that the exchange carried, in order of arrival. */
    function published(paymentId: string) {
      const of = (e: EventEnvelope) =>
        e.aggregateId === paymentId ||
        e.payload.paymentId === paymentId ||
        e.payload.reference === paymentId;
      return tap.events(of);
    }

    /** The payment's ReservationCompleted deliveries the data platform accepted. */
    async function deliveredFor(paymentId: string): Promise<number> {
      return (await deliveries(mesh)).filter(
        (d) => d.accepted > 0 && d.body.paymentId === paymentId,
      ).length;
    }

    /** Waits for a committed Pay's events; each must have left once, and (saga) after its end. */
    async function expectPublishedOnce(attempt: PayAttempt): Promise<void> {
      const types = ['PaymentCompleted', 'PointUsed', 'ReservationCompleted'];
      const got = await eventually(
        async () => published(attempt.paymentId),
        (e) => e.length >= types.length,
      );
      expect(got.map((t) => t.event.type).sort()).to.deep.equal(types);
      // A saga's events wait for the end of the transaction; XA's commit with their branches.
      if (mode === 'saga')
        for (const t of got) expect(t.receivedAt).to.be.above(attempt.endedAt.getTime());
      expect(
        await eventually(
          () => deliveredFor(attempt.paymentId),
          (n) => n > 0,
        ),
      ).to.equal(1);
    }

    if (mode === 'xa') {
      it('aborts a Pay whose branch outlives its deadline: the abort waits for the call, refuses it, and none of its writes land', async () => {
        const { p, reservationId } = await buyer('held');
        await mesh.arm('point', `participant.point.after-body=1*delay(${PAST_DEADLINE_MS})`);
        const answer = await p.pay(reservationId, 'pay');
        expect([answer.status, reason(answer)]).to.deep.equal([503, 'UNAVAILABLE']);
        // The debit ran on: it was refused once it finished, the abort having come meanwhile.
        expect(await answered('point', 'UsePoints', 1)).to.deep.equal({ ABORTED: 1 });
        const [aborted] = await endedPays(reservationId);
        expect(aborted.state).to.equal('ABORTED');
        await invariants();
        expect(await books(p, reservationId)).to.deep.equal(asHeld);
        expect(await preparedFor(aborted.gid)).to.deep.equal([]);
        expect(published(aborted.paymentId)).to.deep.equal([]);
        expect(await deliveredFor(aborted.paymentId)).to.equal(0);

        // It changed nothing: the same Idempotency-Key pays now.
        const again = await p.pay(reservationId, 'pay');
        expect(again.status, JSON.stringify(again.body)).to.equal(201);
        expect(await books(p, reservationId)).to.deep.equal(asPaid);
        const [, committed] = await endedPays(reservationId, 2);
        await invariants();
        await expectPublishedOnce(committed);
      });

      it('refuses a branch call that arrives after its abort (no hanging): nothing is left prepared and the next Pay goes through at once', async () => {
        const { p, reservationId } = await buyer('late');
        await mesh.arm('point', `participant.xa.before-start=1*delay(${PAST_DEADLINE_MS})`);
        const answer = await p.pay(reservationId);
        expect([answer.status, reason(answer)]).to.deep.equal([503, 'UNAVAILABLE']);
        const [aborted] = await endedPays(reservationId);
        expect(aborted.state).to.equal('ABORTED');
        // The late call reached its branch after the rollback, and was refused.
        expect(await answered('point', 'UsePoints', 1)).to.deep.equal({ ABORTED: 1 });
        expect(await preparedFor(aborted.gid)).to.deep.equal([]);
        expect(await books(p, reservationId)).to.deep.equal(asHeld);

        // No branch holds the wallet: the payer's next Pay debits it without waiting.
        const started = Date.now();
        const again = await p.pay(reservationId);
        expect(again.status, JSON.stringify(again.body)).to.equal(201);
        expect(Date.now() - started).to.be.below(BRANCH_DEADLINE_MS);
        expect(await books(p, reservationId)).to.deep.equal(asPaid);
        await invariants();
      });

      it('commits exactly once when a phase-2 commit stalls past its deadline', async () => {
        const { p, reservationId } = await buyer('stall');
        await mesh.arm('point', `participant.xa.before-commit=1*delay(${PAST_DEADLINE_MS})`);
        const answer = await p.pay(reservationId);
        expect(answer.status, JSON.stringify(answer.body)).to.equal(201);
        expect(answer.body).to.include({ status: 'PAID', amount: PRICE, balance: POINTS - PRICE });
        // The stalled commit and the one sent again both answer done: one commit, once.
        expect(await answered('point', 'Commit', 2)).to.deep.equal({ OK: 2 });
        const [committed] = await endedPays(reservationId);
        expect(committed.state).to.equal('COMMITTED');
        expect(await preparedFor(committed.gid)).to.deep.equal([]);
        expect(await books(p, reservationId)).to.deep.equal(asPaid);
        await invariants();
        await expectPublishedOnce(committed);
      });
    }

    if (mode === 'saga') {
      it('compensates a Pay whose step outlives the deadline: the late step is refused, and of the Pay only what was undone as a fact ever leaves, after its end', async () => {
        const { p, reservationId } = await buyer('held');
        await mesh.arm('concert', `participant.concert.after-body=1*delay(${PAST_TTL_MS})`);
        const answer = await p.pay(reservationId, 'pay');
        expect([answer.status, reason(answer)]).to.deep.equal([503, 'UNAVAILABLE']);
        const [aborted] = await endedPays(reservationId);
        expect(aborted.state).to.equal('ABORTED');
        // The late sale, and every retry queued behind its lock, refused by the barrier.
        const calls = await branchCalls(aborted.gid, 'sell-seat');
        expect(await answered('concert', 'SellSeat', calls)).to.deep.equal({ ABORTED: calls });
        await invariants();
        expect(await books(p, reservationId)).to.deep.equal({
          ...asHeld,
          ledger: [`USE ${PRICE}`, `REFUND ${PRICE}`],
          payments: ['VOIDED'],
        });
        // PaymentCompleted waited in the outbox and was withdrawn there: it can never leave.
        const outbox = await sql(
          mesh,
          'payment',
          'SELECT type FROM outbox WHERE aggregate_id = ?',
          [aborted.paymentId],
        );
        expect(outbox).to.deep.equal([]);
        const events = await eventually(
          async () => published(aborted.paymentId),
          (e) => e.length >= 2,
        );
        expect(events.map((t) => t.event.type)).to.deep.equal(['PointUsed', 'PointRefunded']);
        for (const t of events) expect(t.receivedAt).to.be.above(aborted.endedAt.getTime());
        expect(await deliveredFor(aborted.paymentId)).to.equal(0);

        const again = await p.pay(reservationId, 'pay');
        expect(again.status, JSON.stringify(again.body)).to.equal(201);
        const [, committed] = await endedPays(reservationId, 2);
        await invariants();
        await expectPublishedOnce(committed);
      });

      it('answers the true outcome when a repeated step cannot ask the barrier, never the refusal of its own earlier run', async () => {
        const { p, reservationId } = await buyer('lookup');
        await mesh.arm(
          'concert',
          `participant.concert.after-body=1*delay(${PAST_DEADLINE_MS}),participant.barrier.lookup=1*error(2013)`,
        );
        const answer = await p.pay(reservationId, 'pay');
        expect(answer.status, JSON.stringify(answer.body)).to.equal(201);
        const [committed] = await endedPays(reservationId);
        expect(committed.state).to.equal('COMMITTED');
        // The first sale outlived its deadline and committed; its repeat found the seat sold
        // and could not ask the barrier whose sale that was: UNAVAILABLE, so asked again.
        const calls = await branchCalls(committed.gid, 'sell-seat');
        expect(await answered('concert', 'SellSeat', calls)).to.deep.equal({
          OK: calls - 1,
          UNAVAILABLE: 1,
        });
        const repeat = await p.pay(reservationId, 'pay');
        expect([repeat.status, repeat.body]).to.deep.equal([201, answer.body]);
        expect(await books(p, reservationId)).to.deep.equal(asPaid);
        await invariants();
        // PaymentCompleted waited seconds in the outbox for the sale, and left after the end.
        await expectPublishedOnce(committed);
      });
    }

    for (const errno of [1205, 1213]) {
      it(`answers a Pay whose branch meets error ${errno} as retryable, never RESERVATION_ALREADY_PAID`, async () => {
        const { p, reservationId } = await buyer(`pay-${errno}`);
        await mesh.arm('reservation', `participant.reservation.after-body=1*error(${errno})`);
        const answer = await p.pay(reservationId, 'pay');
        if (mode === 'xa') {
          // An XA branch is never called twice: the Pay aborts, having changed nothing.
          expect([answer.status, reason(answer)]).to.deep.equal([503, 'UNAVAILABLE']);
          expect(await answered('reservation', 'BeginPayment', 1)).to.deep.equal({
            UNAVAILABLE: 1,
          });
          await invariants();
          expect(await books(p, reservationId)).to.deep.equal(asHeld);
          const again = await p.pay(reservationId, 'pay');
          expect(again.status, JSON.stringify(again.body)).to.equal(201);
        } else {
          // The saga asks an UNAVAILABLE step again, and the second call goes through.
          expect(answer.status, JSON.stringify(answer.body)).to.equal(201);
          expect(await answered('reservation', 'BeginPayment', 2)).to.deep.equal({
            OK: 1,
            UNAVAILABLE: 1,
          });
        }
        expect(await books(p, reservationId)).to.deep.equal(asPaid);
        await invariants();
      });

      it(`answers a Refund whose branch meets error ${errno} as retryable, never PAYMENT_ALREADY_REFUNDED`, async () => {
        const { p, reservationId, paymentId } = await payer(`refund-${errno}`);
        await mesh.arm('payment', `participant.payment.after-body=1*error(${errno})`);
        const answer = await p.refund(paymentId, 'refund');
        const done = { paymentId, status: 'REFUNDED', refundedAmount: PRICE, balance: POINTS };
        if (mode === 'xa') {
          expect([answer.status, reason(answer)]).to.deep.equal([503, 'UNAVAILABLE']);
          expect(await answered('payment', 'RefundPayment', 1)).to.deep.equal({ UNAVAILABLE: 1 });
          await invariants();
          expect(await books(p, reservationId)).to.deep.equal(asPaid);
          const again = await p.refund(paymentId, 'refund');
          expect([again.status, again.body]).to.deep.equal([200, done]);
        } else {
          expect([answer.status, answer.body]).to.deep.equal([200, done]);
          expect(await answered('payment', 'RefundPayment', 2)).to.deep.equal({
            OK: 1,
            UNAVAILABLE: 1,
          });
        }
        expect(await books(p, reservationId)).to.deep.equal(asRefunded);
        await invariants();
      });
    }

    it(`parks a Pay whose ${mode === 'xa' ? 'rollback' : 'compensation'} keeps failing, and an operator's retry finishes it once the participant is well`, async () => {
      // Too few points: the Pay is refused, and undoing what it did keeps failing.
      const { p, reservationId } = await buyer('parked', 1000);
      const [failing, failpoint, stuckIn] =
        mode === 'xa'
          ? (['payment', 'participant.xa.before-rollback=error(2013)', TxState.ABORTING] as const)
          : ([
              'reservation',
              'participant.reservation.after-compensate=error(2013)',
              TxState.COMPENSATING,
            ] as const);
      const parkedBefore = await parkedCount(stuckIn);
      await mesh.arm(failing, failpoint);
      const answer = await p.pay(reservationId);
      expect([answer.status, reason(answer)]).to.deep.equal([400, 'INSUFFICIENT_POINTS']);

      const coordinator = channels.client(
        CoordinatorServiceService,
        `127.0.0.1:${mesh.env.COORDINATOR_GRPC_PORT}`,
        mesh.trust().signer('operator'),
      );
      const [attempt] = await payAttempts(reservationId);
      const stuck = await eventually(
        async () =>
          (
            await coordinator.listTransactions(
              ListTransactionsRequest.fromPartial({ state: TxState.STUCK, limit: 50 }),
            )
          ).transactions,
        (ts) => ts.some((t) => t.gid === attempt.gid),
        20_000,
      );
      expect(stuck.map((t) => [t.gid, t.state, t.stuckIn])).to.deep.equal([
        [attempt.gid, TxState.STUCK, stuckIn],
      ]);
      // The metric and the error line come right after the parking is written.
      expect(
        await eventually(
          () => parkedCount(stuckIn),
          (n) => n > parkedBefore,
        ),
      ).to.equal(parkedBefore + 1);
      const parkedLines = async () =>
        readFileSync(mesh.logFile, 'utf8')
          .split('\n')
          .filter((l) => l.includes(attempt.gid) && l.includes('transaction parked'))
          .map((l) => (JSON.parse(l) as { level: number }).level);
      expect(await eventually(parkedLines, (levels) => levels.length > 0)).to.deep.equal([50]); // one line, at level error

      await mesh.arm(failing, '');
      const retried = await coordinator.retryTransaction({
        gid: attempt.gid,
        expectedState: TxState.STUCK,
      });
      expect(retried.transaction?.gid).to.equal(attempt.gid);
      expect(retried.transaction?.state).not.to.equal(TxState.STUCK);
      expect((await endedPays(reservationId))[0].state).to.equal('ABORTED');
      await invariants();
      // The saga recorded the payment beside the refused debit (they run side by side), then
      // voided it; XA rolled it back. Nothing of the Pay ever left.
      expect(await books(p, reservationId)).to.deep.equal({
        ...asHeld,
        balance: 1000,
        payments: mode === 'saga' ? ['VOIDED'] : [],
      });
      expect(published(attempt.paymentId)).to.deep.equal([]);
      const after = await coordinator.listTransactions(
        ListTransactionsRequest.fromPartial({ state: TxState.STUCK, limit: 50 }),
      );
      expect(after.transactions).to.deep.equal([]);
    });
  });
}
