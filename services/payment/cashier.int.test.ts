// The payment's branches against real MariaDB, through a real Participant: saga actions and
// compensations behind the barrier, and XA branches prepared and finished on their own
// connection.
import { expect } from 'chai';
import type { TxContext } from '../../lib/participant/context';
import type { DomainError } from '../../lib/errors';
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
import { Cashier } from './cashier';
import { PAYMENT_MIGRATIONS } from './data/migrations';
import type { PaymentInput } from './domain/payment';

const T0 = new Date('2030-06-01T12:00:00.000Z');

describe('payment branches (real MariaDB, real Participant)', function () {
  this.timeout(30_000);
  let t: TestDatabase;
  let branches: TestXaBranches;
  let cashier: Cashier;
  let now: Date;

  before(async () => {
    t = await testDatabase('payment', PAYMENT_MIGRATIONS);
    branches = testXaBranches(t.config);
    cashier = new Cashier(t.db, new Participant('payment', t.db, branches.xa), () => now);
  });
  beforeEach(() => {
    now = T0;
  });
  after(async () => {
    await branches.close();
    await t.drop();
  });

  const saga = (gid: string, op: 'action' | 'compensate' = 'action'): TxContext =>
    sagaContext(gid, 'record', op);
  const action = () => saga(newId());
  const xaCtx = (gid: string, prepare: boolean) => xaContext(gid, 'payment', prepare);

  const input = (patch: Partial<PaymentInput> = {}): PaymentInput => ({
    paymentId: newId(),
    reservationId: newId(),
    userId: 'u1',
    amount: 12000,
    ...patch,
  });
  async function paid(patch: Partial<PaymentInput> = {}): Promise<string> {
    return (await cashier.record(action(), input(patch))).payment.paymentId;
  }

  async function row(id: string) {
    const [r] = await t.db.query<{ status: string; refunded_at: Date | null }>(
      'SELECT status, refunded_at FROM payment WHERE id = ?',
      [id],
    );
    return r && { status: r.status, refundedAt: r.refunded_at };
  }
  const statusOf = async (id: string) => (await row(id))?.status;
  const events = (id: string) => outboxEvents(t.db, id);

  describe('RecordPayment / VoidPayment', () => {
    it('records a PAID payment and PaymentCompleted in the same transaction', async () => {
      const p = input();
      const { payment } = await cashier.record(action(), p);
      expect(payment).to.deep.equal({
        paymentId: p.paymentId,
        reservationId: p.reservationId,
        userId: 'u1',
        amount: 12000,
        status: 'PAID',
        paidAt: '2030-06-01T12:00:00.000Z',
        refundedAt: undefined,
      });
      expect(await row(p.paymentId)).to.deep.equal({ status: 'PAID', refundedAt: null });
      expect(await events(p.paymentId)).to.deep.equal([
        {
          type: 'PaymentCompleted',
          version: 1,
          payload: {
            paymentId: p.paymentId,
            reservationId: p.reservationId,
            userId: 'u1',
            amount: 12000,
            paidAt: '2030-06-01T12:00:00.000Z',
          },
        },
      ]);
    });

    it('runs a duplicate action once: the first result to every copy, one row, one event', async () => {
      const md = action();
      const p = input();
      const first = await Promise.all([1, 2, 3].map(() => cashier.record(md, p)));
      now = new Date(T0.getTime() + 60_000);
      const late = await cashier.record(md, p);
      for (const r of [...first, late])
        expect(r.payment.paidAt).to.equal('2030-06-01T12:00:00.000Z');
      expect(await events(p.paymentId)).to.have.length(1);
    });

    it('refuses an id another transaction already used (BRANCH_REFUSED), writing no event', async () => {
      const id = await paid();
      expect(await domainRefusal(cashier.record(action(), input({ paymentId: id })))).to.equal(
        'BRANCH_REFUSED',
      );
      expect(await events(id)).to.have.length(1);
    });

    it('refuses a malformed payment (INVALID_ARGUMENT)', async () => {
      const p = input({ amount: 0 });
      expect(await domainRefusal(cashier.record(action(), p))).to.equal('INVALID_ARGUMENT');
      expect(await row(p.paymentId)).to.equal(undefined);
    });

    it('voids the payment it recorded, once; the reservation may then be paid anew', async () => {
      const gid = newId();
      const p = input();
      await cashier.record(saga(gid), p);
      await Promise.all([
        cashier.voidPayment(saga(gid, 'compensate')),
        cashier.voidPayment(saga(gid, 'compensate')),
      ]);
      expect(await statusOf(p.paymentId)).to.equal('VOIDED');
      // Not yet published: the PaymentCompleted of the voided payment is simply withdrawn.
      expect(await events(p.paymentId)).to.deep.equal([]);
      const again = await paid({ reservationId: p.reservationId });
      expect(await statusOf(again)).to.equal('PAID');
    });

    it('announces the retraction when the voided payment was already published', async () => {
      const gid = newId();
      const p = input();
      await cashier.record(saga(gid), p);
      await t.db.execute('UPDATE outbox SET sent_at = ? WHERE aggregate_id = ?', [
        new Date(),
        p.paymentId,
      ]);
      await cashier.voidPayment(saga(gid, 'compensate'));
      expect((await events(p.paymentId)).map((e) => e.type)).to.deep.equal([
        'PaymentCompleted',
        'PaymentCompletedRetracted',
      ]);
    });

    it('does nothing for a void that arrives first, and then refuses the late record', async () => {
      const gid = newId();
      const p = input();
      await cashier.voidPayment(saga(gid, 'compensate'));
      expect(await domainRefusal(cashier.record(saga(gid), p))).to.equal('BRANCH_REFUSED');
      expect(await row(p.paymentId)).to.equal(undefined);
      expect(await events(p.paymentId)).to.deep.equal([]);
    });
  });

  describe('RefundPayment', () => {
    it('refunds the payer’s PAID payment and answers it', async () => {
      const p = input();
      await cashier.record(action(), p);
      now = new Date(T0.getTime() + 5000);
      const { payment } = await cashier.refund(action(), p.paymentId, 'u1');
      expect(payment).to.deep.equal({
        paymentId: p.paymentId,
        reservationId: p.reservationId,
        userId: 'u1',
        amount: 12000,
        status: 'REFUNDED',
        paidAt: '2030-06-01T12:00:00.000Z',
        refundedAt: '2030-06-01T12:00:05.000Z',
      });
      expect(await row(p.paymentId)).to.deep.equal({ status: 'REFUNDED', refundedAt: now });
    });

    it('explains every refusal, and changes nothing', async () => {
      const refund = (id: string, caller = 'u1') =>
        domainRefusal(cashier.refund(action(), id, caller));
      expect(await refund(newId())).to.equal('NOT_FOUND');

      const others = await paid({ userId: 'u2' });
      expect(await refund(others)).to.equal('NOT_FOUND');
      expect(await statusOf(others)).to.equal('PAID');

      const gid = newId();
      const voided = input();
      await cashier.record(saga(gid), voided);
      await cashier.voidPayment(saga(gid, 'compensate'));
      expect(await refund(voided.paymentId)).to.equal('NOT_FOUND');
      expect(await statusOf(voided.paymentId)).to.equal('VOIDED');

      const refunded = await paid();
      await cashier.refund(action(), refunded, 'u1');
      expect(await refund(refunded)).to.equal('PAYMENT_ALREADY_REFUNDED');
      expect(await refund(refunded, 'u2')).to.equal('NOT_FOUND');
    });

    it('refunds once when five refunds race', async () => {
      const id = await paid();
      const outcomes = await Promise.all(
        [1, 2, 3, 4, 5].map(() =>
          cashier.refund(action(), id, 'u1').then(
            () => 'ok',
            (err: DomainError) => err.reason,
          ),
        ),
      );
      expect(outcomes.filter((o) => o === 'ok')).to.have.length(1);
      expect(outcomes.filter((o) => o === 'PAYMENT_ALREADY_REFUNDED')).to.have.length(4);
    });

    it('answers UNAVAILABLE while a prepared refund holds the row, ALREADY_REFUNDED once it committed', async () => {
      const id = await paid();
      const holder = newId();
      await cashier.refund(xaCtx(holder, true), id, 'u1');
      // Still PAID as it stands: the refund holding it may roll back, so only a retry can tell.
      expect(await domainRefusal(cashier.refund(xaCtx(newId(), true), id, 'u1'))).to.equal(
        'UNAVAILABLE',
      );
      await branches.xa.commit(holder);
      expect(await statusOf(id)).to.equal('REFUNDED');
      expect(await domainRefusal(cashier.refund(xaCtx(newId(), true), id, 'u1'))).to.equal(
        'PAYMENT_ALREADY_REFUNDED',
      );
    });
  });

  describe('GetPayment', () => {
    it('answers a payment in any state, NOT_FOUND for an unknown id', async () => {
      const id = await paid();
      expect(await cashier.get(id)).to.deep.include({
        paymentId: id,
        status: 'PAID',
        amount: 12000,
      });
      expect(await domainRefusal(cashier.get(newId()))).to.equal('NOT_FOUND');
    });
  });

  describe('XA branches', () => {
    it('prepares a payment and its event invisibly and makes both visible on commit', async () => {
      const gid = newId();
      const p = input();
      await cashier.record(xaCtx(gid, true), p);
      expect(await row(p.paymentId)).to.equal(undefined);
      expect(await events(p.paymentId)).to.deep.equal([]);
      await branches.xa.commit(gid);
      expect(await statusOf(p.paymentId)).to.equal('PAID');
      expect(await events(p.paymentId)).to.have.length(1);
    });

    it('rolls the whole branch back when a call of it is refused: no row, no event', async () => {
      const gid = newId();
      const p = input();
      await cashier.record(xaCtx(gid, false), p);
      expect(
        await domainRefusal(cashier.refund(xaCtx(gid, true), p.paymentId, 'someone-else')),
      ).to.equal('NOT_FOUND');
      expect(branches.xa.openBranches).to.equal(0);
      expect(await row(p.paymentId)).to.equal(undefined);
      expect(await events(p.paymentId)).to.deep.equal([]);
    });
  });

  it('runs a call without a transaction context as a local transaction', async () => {
    const p = input();
    await cashier.record(undefined, p);
    expect(await statusOf(p.paymentId)).to.equal('PAID');
    expect(await events(p.paymentId)).to.have.length(1);
  });
});
