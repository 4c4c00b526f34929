import { expect } from 'chai';
import { DomainError } from '../../../lib/errors';
import { assertChargeAmount, assertOwnWallet, chargeTarget, historyLimit } from './points';

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
      expect(reasonOf(() => assertChargeAmount(bad)), String(bad)).to.equal('INVALID_AMOUNT');
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
});
