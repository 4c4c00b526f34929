import { expect } from 'chai';
import { DomainError } from '../../../lib/errors';
import { assertPayable, paymentCompleted, refundRefusal, type PaymentInput } from './payment';

function reasonOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof DomainError)) return 'not a DomainError';
    return err.metadata.field ? `${err.reason}:${err.metadata.field}` : err.reason;
  }
  return undefined;
}

describe('payment rules', () => {
  const payment: PaymentInput = {
    paymentId: '01jabcdefghjkmnpqrstvwxyz0',
    reservationId: '01jabcdefghjkmnpqrstvwxyz1',
    userId: 'u1',
    amount: 10000,
  };
  const check = (patch: Partial<PaymentInput>) =>
    reasonOf(() => assertPayable({ ...payment, ...patch }));

  it('records a positive whole amount under ids that fit their columns', () => {
    expect(check({})).to.equal(undefined);
    expect(check({ amount: 1, userId: 'u'.repeat(64) })).to.equal(undefined);
  });

  it('names the field of anything it cannot record', () => {
    expect(check({ paymentId: '' })).to.equal('INVALID_ARGUMENT:paymentId');
    expect(check({ paymentId: 'p'.repeat(27) })).to.equal('INVALID_ARGUMENT:paymentId');
    expect(check({ reservationId: '' })).to.equal('INVALID_ARGUMENT:reservationId');
    expect(check({ userId: '' })).to.equal('INVALID_ARGUMENT:userId');
    expect(check({ userId: 'u'.repeat(65) })).to.equal('INVALID_ARGUMENT:userId');
    for (const amount of [0, -1, 1.5, Number.NaN, 2 ** 53]) {
      expect(check({ amount }), String(amount)).to.equal('INVALID_ARGUMENT:amount');
    }
  });

  describe('why a refund was refused', () => {
    const reason = (found: Parameters<typeof refundRefusal>[1], caller = 'u1') =>
      refundRefusal('p1', found, caller).reason;

    it('answers PAYMENT_ALREADY_REFUNDED to the payer of a refunded payment', () => {
      expect(reason({ userId: 'u1', status: 'REFUNDED' })).to.equal('PAYMENT_ALREADY_REFUNDED');
    });

    it('answers NOT_FOUND for a missing, voided, or another user’s payment', () => {
      expect(reason(undefined)).to.equal('NOT_FOUND');
      expect(reason({ userId: 'u1', status: 'VOIDED' })).to.equal('NOT_FOUND');
      expect(reason({ userId: 'u2', status: 'PAID' })).to.equal('NOT_FOUND');
      expect(reason({ userId: 'u2', status: 'REFUNDED' })).to.equal('NOT_FOUND');
    });
  });

  it('describes a recorded payment with its instant in RFC 3339 UTC', () => {
    expect(paymentCompleted(payment, new Date('2026-12-24T10:00:00.123Z'))).to.deep.equal({
      type: 'PaymentCompleted',
      version: 1,
      aggregateId: payment.paymentId,
      payload: {
        paymentId: payment.paymentId,
        reservationId: payment.reservationId,
        userId: 'u1',
        amount: 10000,
        paidAt: '2026-12-24T10:00:00.123Z',
      },
    });
  });
});
