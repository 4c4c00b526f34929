// The reservation's branches against real MariaDB, through a real Participant: saga actions
// and compensations behind the barrier, and XA branches prepared and finished on their own
// connection.
import { expect } from 'chai';
import type { TxContext } from '../../lib/participant/context';
import { DomainError } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { Participant } from '../../lib/participant/participant';
import { testDatabase, type TestDatabase } from '../../test/support/infra';
import { domainRefusal } from '../../test/support/refusals';
import {
  outboxEvents,
  sagaContext,
  testXaBranches,
  xaContext,
  type TestXaBranches,
} from '../../test/support/tx';
import { ReservationBook } from './reservationBook';
import { RESERVATION_MIGRATIONS } from './data/migrations';
import type { HoldInput } from './domain/reservation';

const HOLD_SECONDS = 300;
const T0 = new Date('2030-06-01T12:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

describe('reservation branches (real MariaDB, real Participant)', function () {
  this.timeout(30_000);
  let t: TestDatabase;
  let branches: TestXaBranches;
  let participant: Participant;
  let now: Date;
  let book: ReservationBook;
  const bookAt = (clock: () => Date) => new ReservationBook(t.db, participant, HOLD_SECONDS, clock);

  before(async () => {
    t = await testDatabase('reservation', RESERVATION_MIGRATIONS);
    branches = testXaBranches(t.config);
    participant = new Participant('reservation', t.db, branches.xa);
    book = bookAt(() => now);
  });
  beforeEach(() => {
    now = T0;
  });
  after(async () => {
    await branches.close();
    await t.drop();
  });

  const saga = (
    gid: string,
    op: 'action' | 'compensate' = 'action',
    branchId = 'step',
  ): TxContext => sagaContext(gid, branchId, op);
  const action = () => saga(newId());

  function holdInput(patch: Partial<HoldInput> = {}): HoldInput {
    const reservationId = patch.reservationId ?? newId();
    return {
      reservationId,
      userId: 'u1',
      concertId: 'c1',
      scheduleId: 's1',
      date: '2030-12-24',
      seatNumber: 7,
      seatId: 's1-7',
      price: 12000,
      ...patch,
    };
  }
  async function held(patch: Partial<HoldInput> = {}): Promise<string> {
    const { reservation } = await book.createHold(action(), holdInput(patch));
    return reservation.reservationId;
  }
  async function paying(patch: Partial<HoldInput> = {}, paymentId = newId()) {
    const id = await held(patch);
    await book.beginPayment(action(), { reservationId: id, userId: 'u1', paymentId });
    return { id, paymentId };
  }
  async function confirmed(patch: Partial<HoldInput> = {}) {
    const ref = await paying(patch);
    await book.confirm(action(), { reservationId: ref.id, paymentId: ref.paymentId });
    return ref;
  }

  async function row(id: string) {
    const [r] = await t.db.query<{ status: string; payment_id: string | null; expires_at: Date }>(
      'SELECT status, payment_id, expires_at FROM reservation WHERE id = ?',
      [id],
    );
    return r && { status: r.status, paymentId: r.payment_id, expiresAt: r.expires_at };
  }
  const statusOf = async (id: string) => (await row(id))?.status;
  const events = (id: string) => outboxEvents(t.db, id);

  describe('CreateHold / CancelHold', () => {
    it('records a HELD reservation that expires after the hold time', async () => {
      const input = holdInput();
      const { reservation } = await book.createHold(action(), input);
      expect(reservation).to.deep.equal({
        reservationId: input.reservationId,
        concertId: 'c1',
        scheduleId: 's1',
        date: '2030-12-24',
        seatNumber: 7,
        price: 12000,
        status: 'HELD',
        expiresAt: '2030-06-01T12:05:00.000Z',
        paymentId: undefined,
      });
      expect(await row(input.reservationId)).to.deep.equal({
        status: 'HELD',
        paymentId: null,
        expiresAt: at(HOLD_SECONDS * 1000),
      });
    });

    it('runs a duplicate action once and returns the first result to every copy', async () => {
      const md = action();
      const input = holdInput();
      const first = await Promise.all([1, 2, 3].map(() => book.createHold(md, input)));
      now = at(60_000);
      const late = await book.createHold(md, input);
      for (const r of [...first, late]) {
        expect(r.reservation.expiresAt).to.equal('2030-06-01T12:05:00.000Z');
      }
      const [{ n }] = await t.db.query<{ n: number }>(
        'SELECT COUNT(*) AS n FROM reservation WHERE id = ?',
        [input.reservationId],
      );
      expect(Number(n)).to.equal(1);
    });

    it('refuses an id that another transaction already used (BRANCH_REFUSED)', async () => {
      const id = await held();
      expect(
        await domainRefusal(book.createHold(action(), holdInput({ reservationId: id }))),
      ).to.equal('BRANCH_REFUSED');
    });

    it('refuses a malformed hold before any SQL (INVALID_ARGUMENT)', async () => {
      const md = action();
      expect(await domainRefusal(book.createHold(md, holdInput({ seatNumber: 0 })))).to.equal(
        'INVALID_ARGUMENT',
      );
      // Nothing was claimed: the same branch may still run with a good request.
      await book.createHold(md, holdInput());
    });

    it('cancels the hold it made, once, with the action result', async () => {
      const gid = newId();
      const { reservation } = await book.createHold(saga(gid), holdInput());
      await Promise.all([
        book.cancelHold(saga(gid, 'compensate')),
        book.cancelHold(saga(gid, 'compensate')),
      ]);
      expect(await statusOf(reservation.reservationId)).to.equal('CANCELLED');
    });

    it('does nothing for a compensation that arrives first, and then refuses the late action', async () => {
      const gid = newId();
      const input = holdInput();
      await book.cancelHold(saga(gid, 'compensate'));
      expect(await domainRefusal(book.createHold(saga(gid), input))).to.equal('BRANCH_REFUSED');
      expect(await row(input.reservationId)).to.equal(undefined);
    });

    it('leaves a hold alone once it is no longer HELD', async () => {
      const gid = newId();
      const { reservation } = await book.createHold(saga(gid), holdInput());
      const id = reservation.reservationId;
      await book.beginPayment(action(), { reservationId: id, userId: 'u1', paymentId: newId() });
      await book.cancelHold(saga(gid, 'compensate'));
      expect(await statusOf(id)).to.equal('PAYING');
    });
  });

  describe('BeginPayment / ResumeHold', () => {
    it('locks a HELD reservation for one payment and answers what the payment needs', async () => {
      const id = await held();
      const paymentId = newId();
      const began = await book.beginPayment(action(), {
        reservationId: id,
        userId: 'u1',
        paymentId,
      });
      expect(began.seatId).to.equal('s1-7');
      expect(began.reservation).to.deep.include({ status: 'PAYING', price: 12000, paymentId });
      expect(await row(id)).to.deep.include({ status: 'PAYING', paymentId });
    });

    it('explains every refusal, and changes nothing', async () => {
      const refusedGids: string[] = [];
      const pay = (reservationId: string, userId = 'u1') => {
        const gid = newId();
        refusedGids.push(gid);
        return domainRefusal(
          book.beginPayment(saga(gid), { reservationId, userId, paymentId: newId() }),
        );
      };

      expect(await pay(newId())).to.equal('RESERVATION_NOT_FOUND');
      const mine = await held();
      expect(await pay(mine, 'u2')).to.equal('RESERVATION_NOT_FOUND');
      expect(await statusOf(mine)).to.equal('HELD');

      expect(await pay((await paying()).id)).to.equal('RESERVATION_ALREADY_PAID');
      expect(await pay((await confirmed()).id)).to.equal('RESERVATION_ALREADY_PAID');

      const overdue = await held();
      now = at(HOLD_SECONDS * 1000); // the expiry instant itself is too late
      expect(await pay(overdue)).to.equal('RESERVATION_EXPIRED');
      expect(await statusOf(overdue)).to.equal('HELD');
      await book.expire(action(), overdue);
      expect(await pay(overdue)).to.equal('RESERVATION_EXPIRED');

      now = T0;
      const gid = newId();
      const cancelled = (await book.createHold(saga(gid), holdInput())).reservation.reservationId;
      await book.cancelHold(saga(gid, 'compensate'));
      expect(await pay(cancelled)).to.equal('RESERVATION_CANCELLED');

      // A refused action leaves no barrier row behind: the coordinator may retry it.
      const claimed = await t.db.query(
        `SELECT gid FROM tx_barrier WHERE gid IN (${refusedGids.map(() => '?').join(', ')})`,
        refusedGids,
      );
      expect(claimed).to.deep.equal([]);
    });

    it('lets exactly one of five concurrent payments lock the hold', async () => {
      const id = await held();
      const outcomes = await Promise.all(
        [1, 2, 3, 4, 5].map(() =>
          book.beginPayment(action(), { reservationId: id, userId: 'u1', paymentId: newId() }).then(
            (r) => `ok:${r.reservation.paymentId}`,
            (err: DomainError) => err.reason,
          ),
        ),
      );
      const won = outcomes.filter((o) => o.startsWith('ok:'));
      expect(won).to.have.length(1);
      expect(outcomes.filter((o) => o === 'RESERVATION_ALREADY_PAID')).to.have.length(4);
      expect(await row(id)).to.deep.include({ status: 'PAYING', paymentId: won[0].slice(3) });
    });

    it('gives the hold back to be paid again (and to expire)', async () => {
      const gid = newId();
      const id = await held();
      await book.beginPayment(saga(gid), { reservationId: id, userId: 'u1', paymentId: newId() });
      await book.resumeHold(saga(gid, 'compensate'));
      await book.resumeHold(saga(gid, 'compensate'));
      expect(await row(id)).to.deep.include({ status: 'HELD', paymentId: null });
      const second = newId();
      await book.beginPayment(action(), { reservationId: id, userId: 'u1', paymentId: second });
      expect(await row(id)).to.deep.include({ status: 'PAYING', paymentId: second });
    });

    it('resumes only the payment it began: another payment’s lock stays', async () => {
      const gid = newId();
      const id = await held();
      await book.beginPayment(saga(gid), { reservationId: id, userId: 'u1', paymentId: newId() });
      await book.resumeHold(saga(newId(), 'compensate')); // some other transaction's compensation
      await book.resumeHold(saga(gid, 'compensate'));
      const other = newId();
      await book.beginPayment(action(), { reservationId: id, userId: 'u1', paymentId: other });
      await book.resumeHold(saga(gid, 'compensate')); // a repeat: already done
      expect(await row(id)).to.deep.include({ status: 'PAYING', paymentId: other });
    });

    it('does nothing for a compensation that arrives first, and then refuses the late payment', async () => {
      const gid = newId();
      const id = await held();
      await book.resumeHold(saga(gid, 'compensate'));
      expect(
        await domainRefusal(
          book.beginPayment(saga(gid), { reservationId: id, userId: 'u1', paymentId: newId() }),
        ),
      ).to.equal('BRANCH_REFUSED');
      expect(await row(id)).to.deep.include({ status: 'HELD', paymentId: null });
    });
  });

  describe('Confirm', () => {
    it('confirms the payment in progress and writes ReservationCompleted with it', async () => {
      const { id, paymentId } = await paying();
      await book.confirm(action(), { reservationId: id, paymentId });
      expect(await row(id)).to.deep.include({ status: 'CONFIRMED', paymentId });
      expect(await events(id)).to.deep.equal([
        {
          type: 'ReservationCompleted',
          version: 1,
          payload: {
            reservationId: id,
            paymentId,
            userId: 'u1',
            concertId: 'c1',
            scheduleId: 's1',
            date: '2030-12-24',
            seatNumber: 7,
            amount: 12000,
          },
        },
      ]);
    });

    it('writes the event once for a duplicate confirmation', async () => {
      const { id, paymentId } = await paying();
      const md = action();
      await Promise.all([1, 2, 3].map(() => book.confirm(md, { reservationId: id, paymentId })));
      expect(await events(id)).to.have.length(1);
    });

    it('refuses (BRANCH_REFUSED) a reservation not being paid by that payment, with no event', async () => {
      const { id } = await paying();
      expect(
        await domainRefusal(book.confirm(action(), { reservationId: id, paymentId: newId() })),
      ).to.equal('BRANCH_REFUSED');
      const hold = await held();
      expect(
        await domainRefusal(book.confirm(action(), { reservationId: hold, paymentId: newId() })),
      ).to.equal('BRANCH_REFUSED');
      expect(await statusOf(id)).to.equal('PAYING');
      expect(await events(id)).to.deep.equal([]);
      expect(await events(hold)).to.deep.equal([]);
    });
  });

  describe('Expire', () => {
    it('expires an overdue hold, answers its seat, and writes ReservationExpired', async () => {
      const id = await held({ seatId: 's1-9', seatNumber: 9 });
      now = at(HOLD_SECONDS * 1000);
      expect(await book.expire(action(), id)).to.deep.equal({ seatId: 's1-9' });
      expect(await statusOf(id)).to.equal('EXPIRED');
      expect(await events(id)).to.deep.equal([
        {
          type: 'ReservationExpired',
          version: 1,
          payload: { reservationId: id, userId: 'u1', scheduleId: 's1', seatNumber: 9 },
        },
      ]);
    });

    it('refuses what is not an overdue hold, and writes no event', async () => {
      const live = await held();
      const pay = await paying();
      now = at(HOLD_SECONDS * 1000 - 1);
      expect(await domainRefusal(book.expire(action(), live))).to.equal('INVALID_ARGUMENT');
      now = at(HOLD_SECONDS * 1000 + 60_000);
      expect(await domainRefusal(book.expire(action(), pay.id))).to.equal(
        'RESERVATION_ALREADY_PAID',
      );
      expect(await domainRefusal(book.expire(action(), newId()))).to.equal('RESERVATION_NOT_FOUND');
      await book.expire(action(), live);
      expect(await domainRefusal(book.expire(action(), live))).to.equal('INVALID_ARGUMENT');
      expect(await statusOf(pay.id)).to.equal('PAYING');
      expect(await events(pay.id)).to.deep.equal([]);
      expect(await events(live)).to.have.length(1);
    });

    it('lets exactly one of BeginPayment and Expire win, whichever instant each sees', async () => {
      const expiry = HOLD_SECONDS * 1000;
      // Payer and sweeper see clocks on either side of the expiry instant, or the same one.
      const clocks: [number, number][] = [
        [expiry - 1, expiry],
        [expiry - 1, expiry + 5],
        [expiry, expiry],
        [expiry - 10, expiry - 10],
      ];
      for (const [payAt, expireAt] of clocks) {
        for (let round = 0; round < 5; round++) {
          now = T0;
          const id = await held();
          const paymentId = newId();
          const [paid, expired] = await Promise.all([
            bookAt(() => at(payAt))
              .beginPayment(action(), { reservationId: id, userId: 'u1', paymentId })
              .then(
                () => true,
                (err: DomainError) => (expect(err).to.be.instanceOf(DomainError), false),
              ),
            bookAt(() => at(expireAt))
              .expire(action(), id)
              .then(
                () => true,
                (err: DomainError) => (expect(err).to.be.instanceOf(DomainError), false),
              ),
          ]);
          expect(Number(paid) + Number(expired), `${payAt}/${expireAt}`).to.equal(1);
          expect(await statusOf(id)).to.equal(paid ? 'PAYING' : 'EXPIRED');
          expect(await events(id)).to.have.length(expired ? 1 : 0);
        }
      }
    });
  });

  describe('Cancel', () => {
    it('cancels a confirmed reservation of that payment and answers its seat', async () => {
      const { id, paymentId } = await confirmed({ seatId: 's1-3', seatNumber: 3 });
      expect(await book.cancel(action(), { reservationId: id, paymentId })).to.deep.equal({
        seatId: 's1-3',
      });
      expect(await row(id)).to.deep.include({ status: 'CANCELLED', paymentId });
    });

    it('refuses (BRANCH_REFUSED) anything but a CONFIRMED reservation of that payment', async () => {
      const c = await confirmed();
      const p = await paying();
      const cancel = (reservationId: string, paymentId: string) =>
        domainRefusal(book.cancel(action(), { reservationId, paymentId }));
      expect(await cancel(c.id, newId())).to.equal('BRANCH_REFUSED');
      expect(await cancel(p.id, p.paymentId)).to.equal('BRANCH_REFUSED');
      expect(await cancel(newId(), newId())).to.equal('BRANCH_REFUSED');
      expect(await statusOf(c.id)).to.equal('CONFIRMED');
    });
  });

  describe('GetReservation', () => {
    it('shows the owner a PAYING reservation as HELD without the payment, then the payment once paid', async () => {
      const { id, paymentId } = await paying();
      expect(await book.get('u1', id)).to.deep.include({ status: 'HELD', paymentId: undefined });
      await book.confirm(action(), { reservationId: id, paymentId });
      expect(await book.get('u1', id)).to.deep.equal({
        reservationId: id,
        concertId: 'c1',
        scheduleId: 's1',
        date: '2030-12-24',
        seatNumber: 7,
        price: 12000,
        status: 'CONFIRMED',
        expiresAt: '2030-06-01T12:05:00.000Z',
        paymentId,
      });
    });

    it('answers RESERVATION_NOT_FOUND to anyone but the owner, as for an unknown id', async () => {
      const id = await held();
      expect(await domainRefusal(book.get('u2', id))).to.equal('RESERVATION_NOT_FOUND');
      expect(await domainRefusal(book.get('u1', newId()))).to.equal('RESERVATION_NOT_FOUND');
    });
  });

  describe('overdue holds', () => {
    it('lists exactly the HELD holds overdue now, oldest first, never a PAYING one', async () => {
      // A clock of its own, far from the other tests' holds.
      let clock = new Date('2031-01-01T00:00:00.000Z');
      const far = bookAt(() => clock);
      const make = async (offsetMs: number) => {
        const base = clock;
        clock = new Date(base.getTime() + offsetMs);
        const { reservation } = await far.createHold(action(), holdInput());
        clock = base;
        return reservation.reservationId;
      };
      const older = await make(-2000);
      const old = await make(-1000);
      const fresh = await make(60_000);
      const payingId = await make(-1500);
      await far.beginPayment(action(), {
        reservationId: payingId,
        userId: 'u1',
        paymentId: newId(),
      });
      clock = new Date(clock.getTime() + HOLD_SECONDS * 1000);
      const due = (await far.overdue(100)).filter((id) =>
        [older, old, fresh, payingId].includes(id),
      );
      expect(due).to.deep.equal([older, old]);
      expect(await far.overdue(1)).to.have.length(1);
    });
  });

  describe('XA branches', () => {
    const xaCtx = (gid: string, prepare: boolean) => xaContext(gid, 'reservation', prepare);

    it('prepares a hold invisibly and makes it visible on commit', async () => {
      const gid = newId();
      const input = holdInput();
      await book.createHold(xaCtx(gid, true), input);
      expect(await row(input.reservationId)).to.equal(undefined);
      await branches.xa.commit(gid);
      expect(await statusOf(input.reservationId)).to.equal('HELD');
    });

    it('runs Expire in a branch: the row and its event commit together', async () => {
      const id = await held();
      now = at(HOLD_SECONDS * 1000);
      const gid = newId();
      await book.expire(xaCtx(gid, true), id);
      expect(await events(id)).to.deep.equal([]);
      await branches.xa.commit(gid);
      expect(await statusOf(id)).to.equal('EXPIRED');
      expect(await events(id)).to.have.length(1);
    });

    it('answers UNAVAILABLE while a prepared payment holds the row, ALREADY_PAID once it committed', async () => {
      const id = await held();
      const holder = newId();
      const first = newId();
      await book.beginPayment(xaCtx(holder, true), {
        reservationId: id,
        userId: 'u1',
        paymentId: first,
      });
      const second = () =>
        book.beginPayment(xaCtx(newId(), true), {
          reservationId: id,
          userId: 'u1',
          paymentId: newId(),
        });
      // The row still reads HELD and payable: nothing proves this payment refused, so it may
      // retry (a guess would answer ALREADY_PAID for a payment that may yet roll back).
      expect(await domainRefusal(second())).to.equal('UNAVAILABLE');
      await branches.xa.commit(holder);
      expect(await row(id)).to.deep.include({ status: 'PAYING', paymentId: first });
      expect(await domainRefusal(second())).to.equal('RESERVATION_ALREADY_PAID');
    });

    it('rolls the whole branch back when a call of it is refused: no row, no event', async () => {
      const gid = newId();
      const input = holdInput();
      await book.createHold(xaCtx(gid, false), input);
      expect(
        await domainRefusal(
          book.beginPayment(xaCtx(gid, true), {
            reservationId: input.reservationId,
            userId: 'someone-else',
            paymentId: newId(),
          }),
        ),
      ).to.equal('RESERVATION_NOT_FOUND');
      expect(branches.xa.openBranches).to.equal(0);
      expect(await row(input.reservationId)).to.equal(undefined);

      const overdue = await held();
      now = at(HOLD_SECONDS * 1000);
      const gid2 = newId();
      await book.expire(xaCtx(gid2, false), overdue);
      expect(
        await domainRefusal(
          book.confirm(xaCtx(gid2, true), { reservationId: overdue, paymentId: newId() }),
        ),
      ).to.equal('BRANCH_REFUSED');
      expect(await statusOf(overdue)).to.equal('HELD');
      expect(await events(overdue)).to.deep.equal([]);
    });
  });

  it('runs a call without a transaction context as a local transaction', async () => {
    const input = holdInput();
    await book.createHold(undefined, input);
    expect(await statusOf(input.reservationId)).to.equal('HELD');
  });
});
