// A Pay that reaches the reservation service at the instant its hold expires, 200 times per
// TX_MODE, while the sweeper expires overdue holds every 50 ms: each answer is one of the two
// right ones, and the final state is exactly what it said. 201: the reservation CONFIRMED under
// that payment, the seat SOLD to it, the points debited once. 400 RESERVATION_EXPIRED: nothing
// debited, no payment, the reservation EXPIRED and the seat AVAILABLE again.
import { expect } from 'chai';
import { TX_MODES } from '../../lib/txMode';
import { startMesh, type ApiResponse, type Mesh } from '../support/mesh';
import {
  Person,
  createConcert,
  eventually,
  isoDay,
  reason,
  seatRows,
  sql,
  auditAndDestroy,
} from '../support/people';

const PAYS = 200;
/** Holds in flight at once: 200 one-second holds take about ten rounds. */
const WORKERS = 20;
const PRICE = 1000;
const STEP_MS = 3;

/**
 * When to send a Pay, relative to its hold's expiresAt. A Pay sent at expiresAt reaches the
 * reservation service tens of ms later (gateway, waiting room, coordinator) and always finds
 * the hold expired, and that latency varies with the load. So the aim follows the outcomes: a
 * Pay that won is sent a step later next time, one that lost a step earlier, which settles where
 * half win: the Pays arrive at the expiry instant as the reservation service sees it.
 */
class Aim {
  offsetMs = -50;

  learn(won: boolean): void {
    this.offsetMs += won ? STEP_MS : -STEP_MS;
  }
}

interface Try {
  seat: number;
  person: Person;
  reservationId: string;
  expiresAt: number;
  sentAt: number;
  answeredAt: number;
  answer: ApiResponse;
}

const sleepUntil = (at: number) => new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));

/**
 * What a try must have answered and left, given which of the two answers it got. A won Pay
 * found the hold unexpired, so it was sent before expiresAt; a lost one found it expired, so it
 * was answered from expiresAt on (one clock: the mesh runs on this machine).
 */
function expected(t: Try) {
  return t.answer.status === 201
    ? {
        answer: {
          http: 201,
          reservationId: t.reservationId,
          amount: PRICE,
          status: 'PAID',
          balance: 0,
        },
        timing: 'sent before expiresAt',
        reservation: { status: 'CONFIRMED', paymentId: t.answer.body.paymentId },
        seat: { status: 'SOLD', heldBy: t.reservationId },
        balance: 0,
        ledger: ['CHARGE', 'USE'],
        payments: [{ id: t.answer.body.paymentId, status: 'PAID', amount: PRICE }],
      }
    : {
        answer: { http: 400, reason: 'RESERVATION_EXPIRED' },
        timing: 'answered from expiresAt on',
        reservation: { status: 'EXPIRED', paymentId: null },
        seat: { status: 'AVAILABLE', heldBy: null },
        balance: PRICE,
        ledger: ['CHARGE'],
        payments: [],
      };
}

/** The answer as `expected` words it. */
function answered(t: Try) {
  const { status, body } = t.answer;
  if (status !== 201) return { http: status, reason: reason(t.answer) };
  const { reservationId, amount, status: paid, balance } = body;
  return { http: 201, reservationId, amount, status: paid, balance };
}

/** When the try was sent or answered, against its hold's expiry, as `expected` words it. */
function timing(t: Try): string {
  if (t.answer.status === 201)
    return t.sentAt < t.expiresAt
      ? 'sent before expiresAt'
      : `sent ${t.sentAt - t.expiresAt} ms after expiresAt`;
  return t.answeredAt >= t.expiresAt
    ? 'answered from expiresAt on'
    : `answered ${t.expiresAt - t.answeredAt} ms before expiresAt`;
}

/**
 * What each try left behind, read from the services' tables once every hold has settled: a
 * hold a Pay lost stays HELD past its expiry until the sweeper's Expire runs.
 */
async function finalState(mesh: Mesh, concertId: string, day: string, tries: Try[]) {
  const ids = tries.map((t) => t.reservationId);
  const users = tries.map((t) => t.person.id);
  const holds = await eventually(
    () =>
      sql<{ id: string; status: string; payment_id: string | null; updated_at: Date }>(
        mesh,
        'reservation',
        'SELECT id, status, payment_id, updated_at FROM reservation WHERE id IN (?)',
        [ids],
      ),
    (rows) => rows.every((r) => r.status === 'CONFIRMED' || r.status === 'EXPIRED'),
    20_000,
  );
  const seats = await seatRows(mesh, concertId, day);
  const wallets = await sql<{ user_id: string; balance: number }>(
    mesh,
    'point',
    'SELECT user_id, balance FROM wallet WHERE user_id IN (?)',
    [users],
  );
  const entries = await sql<{ user_id: string; type: string }>(
    mesh,
    'point',
    'SELECT user_id, type FROM point_ledger WHERE user_id IN (?) ORDER BY id',
    [users],
  );
  const payments = await sql<{
    id: string;
    reservation_id: string;
    status: string;
    amount: number;
  }>(
    mesh,
    'payment',
    'SELECT id, reservation_id, status, amount FROM payment WHERE reservation_id IN (?) ORDER BY id',
    [ids],
  );
  const hold = (t: Try) => holds.find((r) => r.id === t.reservationId);
  return {
    of: (t: Try) => ({
      reservation: hold(t) && { status: hold(t)!.status, paymentId: hold(t)!.payment_id },
      seat: seats.get(t.seat),
      balance: Number(wallets.find((w) => w.user_id === t.person.id)?.balance),
      ledger: entries.filter((e) => e.user_id === t.person.id).map((e) => e.type),
      payments: payments
        .filter((p) => p.reservation_id === t.reservationId)
        .map((p) => ({ id: p.id, status: p.status, amount: Number(p.amount) })),
    }),
    /** Whether the Pay was answered before the sweeper's Expire ended the hold. */
    answeredBeforeExpire: (t: Try) =>
      hold(t)?.status === 'EXPIRED' && t.answeredAt < hold(t)!.updated_at.getTime(),
  };
}

for (const mode of TX_MODES) {
  describe(`pay at the expiry instant (TX_MODE=${mode}, 1 s holds)`, function () {
    this.timeout(180_000);
    let mesh: Mesh;
    let concertId = '';
    const day = isoDay(4);

    before(async () => {
      mesh = await startMesh({
        TX_MODE: mode,
        RESERVATION_HOLD_SECONDS: '1',
        // The shortest sweep: an overdue hold's Expire runs within ~50 ms of its expiry, i.e.
        // while the Pay aimed at that instant is still running.
        RESERVATION_SWEEP_INTERVAL_MS: '50',
      });
      concertId = await createConcert(mesh, {
        title: `Pay at expiry ${mode}`,
        dates: [day],
        seatsPerDate: PAYS,
        price: PRICE,
      });
    });
    after(() => auditAndDestroy(mesh));

    it(`answers each of ${PAYS} Pays 201 or 400 RESERVATION_EXPIRED, and leaves what it answered`, async () => {
      const aim = new Aim();
      const tries: Try[] = [];
      let next = 0;
      let failed = false;
      // A fresh payer per hold: a payment ends its payer's waiting-room token, and exact
      // balances and ledgers per try.
      const worker = async () => {
        while (next < PAYS && !failed) {
          const seat = ++next;
          const person = await Person.join(mesh, `edge${seat}-${mode}`, PRICE);
          const held = await person.reserve(concertId, day, seat);
          expect(held.status, JSON.stringify(held.body)).to.equal(201);
          const { reservationId } = held.body;
          const expiresAt = Date.parse(held.body.expiresAt);
          await sleepUntil(expiresAt + aim.offsetMs);
          const sentAt = Date.now();
          const answer = await person.pay(reservationId);
          tries.push({
            seat,
            person,
            reservationId,
            expiresAt,
            sentAt,
            answeredAt: Date.now(),
            answer,
          });
          aim.learn(answer.status === 201);
        }
      };
      // The first failure stops the other workers too, before the mesh goes.
      await Promise.all(
        Array.from({ length: WORKERS }, () =>
          worker().catch((err: unknown) => {
            failed = true;
            throw err;
          }),
        ),
      );

      const final = await finalState(mesh, concertId, day, tries);
      for (const t of tries) {
        const got = { answer: answered(t), timing: timing(t), ...final.of(t) };
        expect(got, `seat ${t.seat}`).to.deep.equal(expected(t));
      }

      const won = tries.filter((t) => t.answer.status === 201).length;
      const lost = tries.length - won;
      const [expiresRefused] = await sql<{ n: number }>(
        mesh,
        'coordinator',
        `SELECT COUNT(*) AS n FROM global_tx WHERE flow = 'expire'
           AND JSON_VALUE(outcome, '$.reason') = 'RESERVATION_ALREADY_PAID'`,
      );
      const sent = tries.map((t) => t.sentAt - t.expiresAt).sort((a, b) => a - b);
      // How the race went, for the log: the split; how often the sweeper's Expire came for a
      // hold a Pay had just taken, or came after a Pay that lost (the hold HELD past expiry);
      // when the Pays were sent.
      console.log(
        `      ${mode}: ${won} × 201, ${lost} × 400 RESERVATION_EXPIRED ` +
          `(${tries.filter(final.answeredBeforeExpire).length} before the sweeper's Expire); ` +
          `${Number(expiresRefused.n)} Expires refused for a Pay; Pays sent ` +
          `${sent[0]}…${sent[sent.length - 1]} ms from expiresAt (median ${sent[sent.length >> 1]})`,
      );
      // Both outcomes in numbers, or the Pays did not land at the expiry instant.
      expect(won, 'Pays that won').to.be.at.least(PAYS / 10);
      expect(lost, 'Pays that lost').to.be.at.least(PAYS / 10);
    });
  });
}
