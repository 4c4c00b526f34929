import { expect } from 'chai';
import { DomainError } from '../../../lib/errors';
import {
  assertHold,
  assertOwner,
  assertPaymentId,
  expiryRefusal,
  holdExpiresAt,
  isOverdue,
  ownerView,
  paymentRefusal,
  type HoldInput,
  type ReservationFacts,
  type ReservationStatusName,
} from './reservation';

function reasonOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof DomainError ? `${err.reason}${fieldOf(err)}` : 'not a DomainError';
  }
  return undefined;
}
const fieldOf = (err: DomainError) => (err.metadata.field ? `:${err.metadata.field}` : '');

describe('reservation rules', () => {
  const now = new Date('2026-12-24T10:00:00.000Z');
  const later = (ms: number) => new Date(now.getTime() + ms);
  const facts = (status: ReservationStatusName, expiresAt = later(60_000)): ReservationFacts => ({
    userId: 'u1',
    status,
    expiresAt,
  });

  it('holds for the configured seconds from now', () => {
    expect(holdExpiresAt(now, 300).toISOString()).to.equal('2026-12-24T10:05:00.000Z');
    expect(holdExpiresAt(now, 1).toISOString()).to.equal('2026-12-24T10:00:01.000Z');
  });

  it('is overdue from its expiry instant on, not a millisecond before', () => {
    expect(isOverdue(later(1), now)).to.equal(false);
    expect(isOverdue(now, now)).to.equal(true);
    expect(isOverdue(later(-1), now)).to.equal(true);
  });

  describe('why a payment could not begin', () => {
    const reason = (found: ReservationFacts | undefined, payer = 'u1', at = now) =>
      paymentRefusal('r1', found, payer, at)?.reason;

    it('hides a missing reservation and another user’s alike', () => {
      expect(reason(undefined)).to.equal('RESERVATION_NOT_FOUND');
      expect(reason(facts('HELD'), 'u2')).to.equal('RESERVATION_NOT_FOUND');
      expect(reason(facts('CONFIRMED'), 'u2')).to.equal('RESERVATION_NOT_FOUND');
    });

    it('answers ALREADY_PAID while paying and once confirmed', () => {
      expect(reason(facts('PAYING'))).to.equal('RESERVATION_ALREADY_PAID');
      expect(reason(facts('CONFIRMED'))).to.equal('RESERVATION_ALREADY_PAID');
    });

    it('answers EXPIRED once expired, and for a hold past its expiry that is not swept yet', () => {
      expect(reason(facts('EXPIRED'))).to.equal('RESERVATION_EXPIRED');
      expect(reason(facts('HELD', now))).to.equal('RESERVATION_EXPIRED');
      expect(reason(facts('HELD', later(-5)))).to.equal('RESERVATION_EXPIRED');
    });

    it('answers CANCELLED for a cancelled reservation', () => {
      expect(reason(facts('CANCELLED'))).to.equal('RESERVATION_CANCELLED');
    });

    it('proves no refusal when the hold is payable again by the time it is read', () => {
      // A concurrent payment held it and gave it back: nothing refuses this one, which may retry.
      expect(reason(facts('HELD', later(1)))).to.equal(undefined);
    });
  });

  describe('why a hold could not expire', () => {
    const refusal = (found: ReservationFacts | undefined) => expiryRefusal('r1', found, now);

    it('answers NOT_FOUND for a missing reservation, ALREADY_PAID while paying or paid', () => {
      expect(refusal(undefined).reason).to.equal('RESERVATION_NOT_FOUND');
      expect(refusal(facts('PAYING')).reason).to.equal('RESERVATION_ALREADY_PAID');
      expect(refusal(facts('CONFIRMED')).reason).to.equal('RESERVATION_ALREADY_PAID');
    });

    it('answers INVALID_ARGUMENT "not overdue" for a live hold and for a finished reservation', () => {
      for (const status of ['HELD', 'EXPIRED', 'CANCELLED'] as const) {
        const err = refusal(facts(status));
        expect(err.reason, status).to.equal('INVALID_ARGUMENT');
        expect(err.message, status).to.contain('not overdue');
      }
      expect(refusal(facts('HELD')).message).to.contain('2026-12-24T10:01:00.000Z');
    });
  });

  it('lets only the owner read a reservation; anyone else finds none', () => {
    expect(reasonOf(() => assertOwner('r1', { userId: 'u1' }, 'u1'))).to.equal(undefined);
    expect(reasonOf(() => assertOwner('r1', { userId: 'u1' }, 'u2'))).to.equal(
      'RESERVATION_NOT_FOUND',
    );
    expect(reasonOf(() => assertOwner('r1', undefined, 'u1'))).to.equal('RESERVATION_NOT_FOUND');
  });

  describe('what the owner sees', () => {
    it('shows PAYING as HELD, without the payment in progress', () => {
      expect(ownerView('PAYING', 'p1')).to.deep.equal({ status: 'HELD', paymentId: undefined });
    });

    it('shows the payment once CONFIRMED, and once CANCELLED by a refund', () => {
      expect(ownerView('CONFIRMED', 'p1')).to.deep.equal({ status: 'CONFIRMED', paymentId: 'p1' });
      expect(ownerView('CANCELLED', 'p1')).to.deep.equal({ status: 'CANCELLED', paymentId: 'p1' });
    });

    it('shows no payment for a hold, an expiry, or a hold cancelled before payment', () => {
      expect(ownerView('HELD', null)).to.deep.equal({ status: 'HELD', paymentId: undefined });
      expect(ownerView('EXPIRED', null)).to.deep.equal({ status: 'EXPIRED', paymentId: undefined });
      expect(ownerView('CANCELLED', null)).to.deep.equal({
        status: 'CANCELLED',
        paymentId: undefined,
      });
    });
  });

  describe('a hold request', () => {
    const hold: HoldInput = {
      reservationId: '01jabcdefghjkmnpqrstvwxyz0',
      userId: 'u1',
      concertId: 'c1',
      scheduleId: 's1',
      date: '2026-12-24',
      seatNumber: 7,
      seatId: 's1-7',
      price: 10000,
    };
    const check = (patch: Partial<HoldInput>) => reasonOf(() => assertHold({ ...hold, ...patch }));

    it('accepts a well-formed hold', () => {
      expect(check({})).to.equal(undefined);
      expect(check({ price: 1, seatNumber: 1 })).to.equal(undefined);
    });

    it('names the field of anything the table could not store', () => {
      expect(check({ reservationId: '' })).to.equal('INVALID_ARGUMENT:reservationId');
      expect(check({ reservationId: 'x'.repeat(27) })).to.equal('INVALID_ARGUMENT:reservationId');
      expect(check({ userId: 'u'.repeat(65) })).to.equal('INVALID_ARGUMENT:userId');
      expect(check({ concertId: '' })).to.equal('INVALID_ARGUMENT:concertId');
      expect(check({ scheduleId: '' })).to.equal('INVALID_ARGUMENT:scheduleId');
      expect(check({ seatId: 's'.repeat(65) })).to.equal('INVALID_ARGUMENT:seatId');
      for (const date of ['2026-02-30', '2026-13-01', '24.12.2026', '']) {
        expect(check({ date }), date).to.equal('INVALID_ARGUMENT:date');
      }
      for (const seatNumber of [0, -1, 1.5]) {
        expect(check({ seatNumber }), String(seatNumber)).to.equal('INVALID_ARGUMENT:seatNumber');
      }
      for (const price of [0, -1, 0.5, Number.NaN]) {
        expect(check({ price }), String(price)).to.equal('INVALID_ARGUMENT:price');
      }
    });

    it('needs a payment id that fits its column', () => {
      expect(reasonOf(() => assertPaymentId('p'.repeat(26)))).to.equal(undefined);
      expect(reasonOf(() => assertPaymentId(''))).to.equal('INVALID_ARGUMENT:paymentId');
      expect(reasonOf(() => assertPaymentId('p'.repeat(27)))).to.equal(
        'INVALID_ARGUMENT:paymentId',
      );
    });
  });
});
