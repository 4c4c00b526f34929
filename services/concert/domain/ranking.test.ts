import { expect } from 'chai';
import { DomainError } from '../../../lib/errors';
import { rankingLimit, sellOut } from './ranking';

describe('ranking limit', () => {
  it('defaults to 10 and accepts 1 to 100', () => {
    expect(rankingLimit(undefined)).to.equal(10);
    expect(rankingLimit(1)).to.equal(1);
    expect(rankingLimit(100)).to.equal(100);
  });

  it('refuses anything else as INVALID_ARGUMENT on field limit', () => {
    for (const bad of [0, -1, 101, 2.5]) {
      try {
        rankingLimit(bad);
        expect.fail(`accepted ${bad}`);
      } catch (err) {
        expect(err).to.be.instanceOf(DomainError);
        expect((err as DomainError).reason).to.equal('INVALID_ARGUMENT');
        expect((err as DomainError).metadata).to.deep.equal({ field: 'limit' });
      }
    }
  });
});

describe('sell-out', () => {
  const opens = new Date('2030-01-01T10:00:00.000Z');
  const at = (s: number) => new Date(opens.getTime() + s);

  it('is nothing while a seat is unsold', () => {
    expect(
      sellOut({ anyUnsold: true, bookingOpensAt: opens, lastSeatChangeAt: at(5000) }),
    ).to.equal(undefined);
  });

  it('is the last sale, in whole seconds after booking opened', () => {
    expect(
      sellOut({ anyUnsold: false, bookingOpensAt: opens, lastSeatChangeAt: at(90_999) }),
    ).to.deep.equal({ soldOutAt: at(90_999), soldOutSeconds: 90 });
  });

  it('is never negative', () => {
    expect(
      sellOut({ anyUnsold: false, bookingOpensAt: opens, lastSeatChangeAt: at(-1) }),
    ).to.deep.equal({
      soldOutAt: at(-1),
      soldOutSeconds: 0,
    });
  });
});
