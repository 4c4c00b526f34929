import { expect } from 'chai';
import { DomainError } from '../../../lib/errors';
import {
  assertChargeAmount,
  assertMovement,
  assertOwnWallet,
  chargeTarget,
  historyLimit,
  pointEvent,
} from './points';

function reasonOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof DomainError ? err.reason : 'not a DomainError';
  }
  return undefined;
}

describe('point rules', () => {
  it('accepts charges from 1 to 1,000,000 and refuses anything else as INVALID_AMOUNT', () => {
    expect(reasonOf(() => assertChargeAmount(1))).to.equal(undefined);
    expect(reasonOf(() => assertChargeAmount(1_000_000))).to.equal(undefined);
    for (const bad of [0, -5, 1_000_001, 1.5, Number.NaN]) {
      expect(
        reasonOf(() => assertChargeAmount(bad)),
        String(bad),
      ).to.equal('INVALID_AMOUNT');
    }
  });

  it('charges the caller, and refuses a different userId', () => {
    expect(chargeTarget('u1', '')).to.equal('u1');
    expect(chargeTarget('u1', 'u1')).to.equal('u1');
    expect(reasonOf(() => chargeTarget('u1', 'u2'))).to.equal('USER_MISMATCH');
  });

  it('lets only the owner read a wallet', () => {
    expect(reasonOf(() => assertOwnWallet('u1', 'u1'))).to.equal(undefined);
    expect(reasonOf(() => assertOwnWallet('u1', 'u2'))).to.equal('USER_MISMATCH');
    expect(reasonOf(() => assertOwnWallet('u1', 'bad id!'))).to.equal('INVALID_ARGUMENT');
  });

  it('defaults the history limit to 50 and bounds it to 1-100', () => {
    expect(historyLimit(undefined)).to.equal(50);
    expect(historyLimit(100)).to.equal(100);
    expect(reasonOf(() => historyLimit(0))).to.equal('INVALID_ARGUMENT');
    expect(reasonOf(() => historyLimit(101))).to.equal('INVALID_ARGUMENT');
  });

  it('takes any positive integer amount for a use or refund, with a user id and a reference', () => {
    expect(reasonOf(() => assertMovement('u1', 1, 'pay'))).to.equal(undefined);
    expect(reasonOf(() => assertMovement('u1', 50_000_000, 'p'.repeat(64)))).to.equal(undefined);
    for (const bad of [0, -5, 1.5, Number.NaN, 2 ** 53]) {
      expect(
        reasonOf(() => assertMovement('u1', bad, 'pay')),
        String(bad),
      ).to.equal('INVALID_AMOUNT');
    }
    expect(reasonOf(() => assertMovement('bad id!', 1, 'pay'))).to.equal('INVALID_ARGUMENT');
    expect(reasonOf(() => assertMovement('u1', 1, ''))).to.equal('INVALID_ARGUMENT');
    expect(reasonOf(() => assertMovement('u1', 1, 'p'.repeat(65)))).to.equal('INVALID_ARGUMENT');
  });

  it('names the v1 event of each kind of wallet change', () => {
    const m = { userId: 'u1', amount: 5, balance: 12, reference: 'pay-1' };
    expect(pointEvent('USE', m)).to.deep.equal({
      type: 'PointUsed',
      version: 1,
      aggregateId: 'u1',
      payload: { userId: 'u1', amount: 5, balance: 12, reference: 'pay-1' },
    });
    expect(pointEvent('CHARGE', m).type).to.equal('PointCharged');
    expect(pointEvent('REFUND', m).type).to.equal('PointRefunded');
  });
});
